// AdditiveLossModel: Bayesian credit assignment over (block, op) cells (NOT the paper's; it replaces
// the exponential smoothing of eq. (4) in the recommended search FaUNAE-TS, docs/algorithm.md).
//
// Every evaluated architecture h in the history is a row of an additive model of its loss
//     (a_h − ā) / s_a  =  Σ_i β(o^i_h) + ε_h,        ε_h ~ N(0, σ²),   β(o) ~ N(0, τ²)
// with ā, s_a the mean and standard deviation of the observed losses (so the model is the same on any
// loss scale), τ² = 1/ν (the ν block effects of an architecture together explain the observed
// variance) and σ² = noise_fraction (the share of the observed variance left to noise and to
// interactions between blocks). The posterior of the effects is Gaussian:
//     mean  μ = (XᵀX + λI)⁻¹ Xᵀy,   covariance  σ² (XᵀX + λI)⁻¹,   λ = σ²/τ² = ν·noise_fraction,
// X holding one indicator per block in each row. An op seen in many architectures gets a narrow
// posterior whatever the other blocks held; an op never sampled keeps its prior (mean 0: average).
//
// The model is incremental: update() absorbs the history records it has not seen, one Sherman–Morrison
// update of Σ = (XᵀX + λI)⁻¹ per record (O(p²), p = Σ_i |Ω^i|), always in history order, so a model
// rebuilt from a resumed search's history holds the same numbers bit for bit. A draw from the
// posterior is exact and costs one matrix–vector product with Σ and H + p normal draws (perturbation
// sampling: β̃ = Σ(Xᵀ(y + σε) + σ√λ·z) with ε, z standard normal has mean μ and covariance σ²Σ).
//
// The model is a pure function of the history it is given: update() starts over whenever the history
// does not extend the one it absorbed (another search, a loaded checkpoint, a reset, a rolled-back
// epoch), told by the space and the last absorbed record. So one model can serve every policy of a
// search: FaUNAE-TS's ThompsonMutation and PosteriorElimination read one model through a
// SharedAdditiveModel (below), and each record is absorbed once instead of once per policy, with the
// same numbers bit for bit.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include <Eigen/Core>
#include <fmt/format.h>

#include "faunae/core/block_space.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/rng.hpp"
#include "faunae/core/search_state.hpp"

namespace faunae {

struct AdditiveModelOptions {
  double noise_fraction = 0.5;  ///< σ²: share of the observed loss variance not explained by the op effects

  template <class Self, class F>
  static void for_each_option(Self& self, F&& f) {
    f("noise_fraction", self.noise_fraction);
  }

  void check(std::string_view who) const {
    if (!(std::isfinite(noise_fraction) && noise_fraction > 0.0))
      throw InvalidArgument(fmt::format("{}: noise_fraction must be finite and > 0, got {}", who, noise_fraction));
  }
  bool operator==(const AdditiveModelOptions&) const = default;
};

class AdditiveLossModel {
 public:
  AdditiveLossModel() = default;
  explicit AdditiveLossModel(AdditiveModelOptions options) : options_(options) {
    options_.check("faunae::AdditiveLossModel");
  }

  const AdditiveModelOptions& options() const noexcept { return options_; }

  /// Absorbs the records of `s.history` not seen yet (all of them after a reset, or when the history
  /// is not an extension of what was absorbed: another search, or a loaded checkpoint). A history
  /// extends the absorbed one when it is on the same space, at least as long, and holds the last
  /// absorbed record (architecture and loss) at the same place.
  void update(const BlockSpace& space, const SearchState& s) {
    const std::size_t h = s.history.size();
    const bool extends = space_id_ == space.content_id() && absorbed_ <= h &&
                         (absorbed_ == 0 || (s.history[absorbed_ - 1].evaluated == last_evaluated_ &&
                                             s.history[absorbed_ - 1].loss == last_loss_));
    if (!extends || offset_.empty()) reset(space);
    for (; absorbed_ < h; ++absorbed_) absorb(s.history[absorbed_]);
    if (absorbed_ > 0) {
      last_evaluated_ = s.history[absorbed_ - 1].evaluated;
      last_loss_ = s.history[absorbed_ - 1].loss;
    }
  }

  std::size_t absorbed() const noexcept { return absorbed_; }
  /// Incremented whenever the model starts over (a history that does not extend the absorbed one).
  std::uint64_t generation() const noexcept { return generation_; }
  std::size_t num_cells() const noexcept { return offset_.empty() ? 0 : offset_.back(); }
  std::size_t cell(std::size_t block, OpIndex op) const { return offset_[block] + op; }

  /// Posterior means of every cell's effect, in loss units (relative to the average op), cell order.
  Eigen::VectorXd mean() const {
    Eigen::VectorXd m = cov_.selfadjointView<Eigen::Lower>() * standardized_rhs();
    return scale() * m;
  }

  /// Posterior standard deviation of one cell's effect, in loss units: σ·s_a·sqrt(Σ_cc).
  double sd(std::size_t c) const {
    const auto i = static_cast<Eigen::Index>(c);
    return std::sqrt(options_.noise_fraction) * scale() * std::sqrt(cov_(i, i));
  }

  /// One draw of every effect from the posterior, in loss units, into `out` (cell order):
  /// β̃ = Σ(r + σ(Xᵀε + √λ·z)), r = Xᵀy, has mean Σr = μ and covariance σ²Σ(XᵀX + λI)Σ = σ²Σ.
  void sample(Rng& rng, Eigen::VectorXd& out) {
    const auto p = static_cast<Eigen::Index>(num_cells());
    const double sigma = std::sqrt(options_.noise_fraction);
    const double root_lambda = std::sqrt(lambda_);
    // p + H standard normals (z for the prior, then ε for every absorbed record), two per draw of
    // Rng::normal_pair().
    const std::size_t blocks = offset_.size() - 1;
    const std::size_t needed = static_cast<std::size_t>(p) + absorbed_;
    normals_.resize(needed + 1);
    for (std::size_t i = 0; i < needed; i += 2) std::tie(normals_[i], normals_[i + 1]) = rng.normal_pair();
    perturbed_ = standardized_rhs();
    for (Eigen::Index i = 0; i < p; ++i) perturbed_(i) += sigma * root_lambda * normals_[static_cast<std::size_t>(i)];
    for (std::size_t h = 0; h < absorbed_; ++h) {
      const double e = sigma * normals_[static_cast<std::size_t>(p) + h];
      for (std::size_t b = 0; b < blocks; ++b) perturbed_(row_cells_[h * blocks + b]) += e;
    }
    out.noalias() = cov_.selfadjointView<Eigen::Lower>() * perturbed_;
    out *= scale();
  }

 private:
  void reset(const BlockSpace& space) {
    const std::size_t blocks = space.num_blocks();
    offset_.assign(blocks + 1, 0);
    for (std::size_t b = 0; b < blocks; ++b) offset_[b + 1] = offset_[b] + space.num_ops(b);
    const auto p = static_cast<Eigen::Index>(offset_[blocks]);
    lambda_ = static_cast<double>(blocks) * options_.noise_fraction;
    cov_ = Eigen::MatrixXd::Identity(p, p) / lambda_;
    sum_by_cell_.setZero(p);
    count_by_cell_.setZero(p);
    u_.setZero(p);
    row_cells_.clear();
    sum_ = sum_sq_ = 0.0;
    absorbed_ = 0;
    ++generation_;
    space_id_ = space.content_id();
  }

  // XᵀX += x xᵀ for the record's indicator row x, on the inverse (Sherman–Morrison):
  // Σ ← Σ − (Σx)(Σx)ᵀ / (1 + xᵀΣx). Σ is symmetric: only its lower triangle is stored and updated.
  void absorb(const EpochRecord& r) {
    u_.setZero();
    double quadratic = 0.0;
    const std::size_t first = row_cells_.size();
    const Eigen::Index p = cov_.rows();
    for (std::size_t b = 0; b + 1 < offset_.size(); ++b) {
      const auto c = static_cast<Eigen::Index>(offset_[b] + r.evaluated[b]);
      row_cells_.push_back(c);
      u_.head(c) += cov_.row(c).head(c).transpose();  // Σ's column c above the diagonal = row c's left part
      u_.tail(p - c) += cov_.col(c).tail(p - c);
      sum_by_cell_(c) += r.loss;
      count_by_cell_(c) += 1.0;
    }
    for (std::size_t i = first; i < row_cells_.size(); ++i) quadratic += u_(row_cells_[i]);
    cov_.selfadjointView<Eigen::Lower>().rankUpdate(u_, -1.0 / (1.0 + quadratic));
    sum_ += r.loss;
    sum_sq_ += r.loss * r.loss;
  }

  double average() const { return absorbed_ > 0 ? sum_ / static_cast<double>(absorbed_) : 0.0; }
  // s_a: the standard deviation of the observed losses; 1 with fewer than two distinct losses.
  double scale() const {
    if (absorbed_ < 2) return 1.0;
    const double n = static_cast<double>(absorbed_);
    const double var = sum_sq_ / n - average() * average();
    return var > 1e-24 * (1.0 + average() * average()) ? std::sqrt(var) : 1.0;
  }
  // Xᵀy with y = (a − ā)/s_a: (Σ_{h uses c} a_h − ā·n_c)/s_a.
  Eigen::VectorXd standardized_rhs() const { return (sum_by_cell_ - average() * count_by_cell_) / scale(); }

  AdditiveModelOptions options_;
  std::vector<std::size_t> offset_;
  Eigen::MatrixXd cov_;                   // Σ = (XᵀX + λI)⁻¹, lower triangle (the upper one is not kept up to date)
  std::vector<Eigen::Index> row_cells_;   // the cells of every absorbed record, ν per record
  std::vector<double> normals_;           // scratch for sample()
  Eigen::VectorXd sum_by_cell_, count_by_cell_, u_, perturbed_;
  double lambda_ = 1.0;
  double sum_ = 0.0, sum_sq_ = 0.0;
  std::size_t absorbed_ = 0;
  std::uint64_t space_id_ = 0;
  std::uint64_t generation_ = 0;
  Architecture last_evaluated_;
  double last_loss_ = 0.0;
};

/// How a policy holds its AdditiveLossModel: a handle to a model of its own, which share() makes the
/// model of another handle. FaUNAE-TS's PosteriorElimination shares ThompsonMutation's model (the
/// search links them, PosteriorElimination::share_with), so the search's history is absorbed once
/// per record rather than once per policy. Nothing else changes: both policies are given the same
/// history, and the model is a pure function of it (AdditiveLossModel::update).
///
/// Copying a handle copies the model, and so does moving it (a handle is never empty): a copied
/// policy — and so a copied or moved search — never shares a model with the original, so the two can
/// run on different threads. A search links its copied policies again before its next epoch. A model
/// that is shared anyway with a policy of another search (by an explicit share()) stays correct —
/// it starts over on every history that does not extend the one it absorbed — but is not thread-safe.
class SharedAdditiveModel {
 public:
  explicit SharedAdditiveModel(AdditiveModelOptions options = {})
      : model_(std::make_shared<AdditiveLossModel>(options)) {}
  SharedAdditiveModel(const SharedAdditiveModel& other) : model_(std::make_shared<AdditiveLossModel>(*other.model_)) {}
  SharedAdditiveModel& operator=(const SharedAdditiveModel& other) {
    if (this != &other) model_ = std::make_shared<AdditiveLossModel>(*other.model_);
    return *this;
  }

  /// The model (shared or not; a const handle still updates it: the model is a cache of the history).
  AdditiveLossModel& operator*() const noexcept { return *model_; }
  AdditiveLossModel* operator->() const noexcept { return model_.get(); }

  /// From now on reads `other`'s model (this handle's own is released) if both models have the same
  /// options, i.e. the same prior; returns whether the two handles share a model.
  bool share(const SharedAdditiveModel& other) {
    if (model_ == other.model_) return true;
    if (!(model_->options() == other.model_->options())) return false;
    model_ = other.model_;
    return true;
  }
  bool shares_with(const SharedAdditiveModel& other) const noexcept { return model_ == other.model_; }

 private:
  std::shared_ptr<AdditiveLossModel> model_;  // never null
};

namespace detail {
/// A policy that keeps its credit model in a SharedAdditiveModel (ThompsonMutation, PosteriorElimination).
template <class P>
concept HasSharedAdditiveModel = requires(const P& p) {
  { p.shared_model() } -> std::same_as<const SharedAdditiveModel&>;
};
}  // namespace detail

}  // namespace faunae
