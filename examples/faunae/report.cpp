// `faunae report` (report.hpp): the page's parts, from the run's JSON files to one HTML string.
#include "report.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/json_reader.hpp"
#include "faunae/core/run_record.hpp"

namespace faunae::report {

namespace detail {

using nlohmann::json;

// --- escaping ------------------------------------------------------------------------------------

/// Text and attribute values: the five characters that HTML gives a meaning.
std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// JSON for a <script type="application/json"> element: '<', '>' and '&' only occur inside strings
/// in JSON, where \u escapes mean the same, so no "</script>" or "<!--" can end the element early.
std::string json_for_script(const json& j) {
  const std::string dumped = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (char c : dumped) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

/// A library's JavaScript made safe to inline: without the source-map comment (the page loads
/// nothing) and with no "</script" or "<!--" that would end or confuse the <script> element
/// ("<\/" and "<\!" mean the same inside the JS strings and regexes they can occur in).
std::string inline_script(std::string js) {
  if (auto at = js.rfind("//# sourceMappingURL="); at != std::string::npos) js.erase(at);
  std::string out;
  out.reserve(js.size());
  for (std::size_t i = 0; i < js.size(); ++i) {
    if (js[i] == '<' && i + 1 < js.size() && (js[i + 1] == '/' || js[i + 1] == '!')) {
      const std::string_view rest = std::string_view(js).substr(i + 1, 7);
      std::string lower(rest);
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (lower.rfind("/script", 0) == 0 || lower.rfind("!--", 0) == 0) {
        out += '<';
        out += '\\';
        continue;
      }
    }
    out += js[i];
  }
  return out;
}

// --- the run, as the report needs it ------------------------------------------------------------

using Block = RunSpaceBlock;

struct ProbeEntry {
  std::string name;
  std::optional<double> params, flops, linear, knn;
};

struct TrainCurve {
  std::string name;
  std::vector<std::pair<double, double>> loss;  // (epoch, loss)
  std::optional<double> seconds;
};

/// search.json (a faunae::RunRecord, read and checked by run_record_from_json) with the optional
/// probe.json and train.json.
struct Run {
  RunRecord record;
  json probe_budget;
  std::optional<std::vector<ProbeEntry>> probe;
  std::optional<std::vector<TrainCurve>> train;
  std::string run_dir;  // for the "not run yet: faunae probe <run_dir>" hints
};

/// The training loss the evaluator reported for an epoch (its "train_loss" metric), if finite.
std::optional<double> train_loss_of(const EpochRecord& e) {
  for (const auto& [name, value] : e.metrics)
    if (name == "train_loss" && std::isfinite(value)) return value;
  return std::nullopt;
}

const char* kind_name(MutationKind k) { return k == MutationKind::depth ? "depth" : "op"; }

/// search.json as a RunRecord; the report draws only the spaces the program makes.
Run read_search(const json& search) {
  Run run;
  run.record = run_record_from_json(search, "faunae report: search.json");
  const std::string& kind = run.record.space.kind;
  if (kind != "resnet" && kind != "darts")
    JsonNode(search, "faunae report: search.json").at("space").at("kind").fail(fmt::format("must be \"resnet\" or \"darts\", got \"{}\"", kind));
  if (kind == "darts") JsonNode(search, "faunae report: search.json").at("space").at("cells");  // required: the cells are drawn
  return run;
}

std::vector<ProbeEntry> read_probe(const json& probe, json& budget) {
  const JsonNode root(probe, "faunae report: probe.json");
  if (auto b = root.find("budget")) budget = b->value();
  std::vector<ProbeEntry> entries;
  const JsonNode archs = root.at("architectures");
  for (std::size_t i = 0; i < archs.size(); ++i) {
    const JsonNode a = archs[i];
    entries.push_back({a.at("name").str(), a.optional_finite("params"), a.optional_finite("flops"),
                       a.optional_finite("linear"), a.optional_finite("knn")});
  }
  return entries;
}

std::vector<TrainCurve> read_train(const json& train) {
  const JsonNode root(train, "faunae report: train.json");
  std::vector<TrainCurve> curves;
  const JsonNode archs = root.at("architectures");
  for (std::size_t i = 0; i < archs.size(); ++i) {
    const JsonNode a = archs[i];
    TrainCurve c{a.at("name").str(), {}, std::nullopt};
    const JsonNode epochs = a.at("epochs");
    double seconds = 0;
    bool have_seconds = false;
    for (std::size_t e = 0; e < epochs.size(); ++e) {
      const JsonNode ne = epochs[e];
      const double loss = ne.at("loss").number();
      if (std::isfinite(loss)) c.loss.emplace_back(ne.at("epoch").number(), loss);
      if (auto s = ne.optional_finite("seconds")) {
        seconds += *s;
        have_seconds = true;
      }
    }
    if (have_seconds) c.seconds = seconds;
    curves.push_back(std::move(c));
  }
  return curves;
}

// --- formatting ----------------------------------------------------------------------------------

/// 23.5M, 412k, 1.20G: three significant digits are what a person compares.
std::string si(double v) {
  if (!std::isfinite(v)) return "–";
  const double a = std::fabs(v);
  const auto fmt3 = [](double x, std::string_view unit) {
    const double ax = std::fabs(x);
    return ax >= 100 ? fmt::format("{:.0f}{}", x, unit) : ax >= 10 ? fmt::format("{:.1f}{}", x, unit) : fmt::format("{:.2f}{}", x, unit);
  };
  if (a >= 1e9) return fmt3(v / 1e9, "G");
  if (a >= 1e6) return fmt3(v / 1e6, "M");
  if (a >= 1e3) return fmt3(v / 1e3, "k");
  return fmt::format("{:.0f}", v);
}

std::string percent_change(std::optional<double> from, std::optional<double> to) {
  if (!from || !to || *from == 0) return "";
  const double p = (*to - *from) / *from * 100.0;
  return fmt::format("{}{:.1f}%", p > 0 ? "+" : p < 0 ? "−" : "±", std::fabs(p));
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

std::string loss_text(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "–"; }

std::string json_scalar_text(const json& j) {
  if (j.is_null()) return "–";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// --- colours -------------------------------------------------------------------------------------

/// One colour per op name, the same in every chart, table and drawing of the page. The "no op" ops
/// (identity, skip_connect, none) are greys; the others take Tableau 10 in order of appearance.
class OpColors {
 public:
  explicit OpColors(const std::vector<Block>& blocks) {
    static constexpr std::string_view palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6",
                                                   "#d37295", "#a0cbe8", "#ffbe7d", "#8cd17d", "#f1ce63"};
    std::size_t next = 0;
    for (const auto& b : blocks)
      for (const auto& op : b.ops) {
        if (colors_.count(op)) continue;
        order_.push_back(op);
        if (op == "identity" || op == "skip_connect" || op == "skip") colors_[op] = "#b9b4ad";
        else if (op == "none" || op == "zero") colors_[op] = "#dcdcdc";
        else colors_[op] = std::string(palette[next++ % std::size(palette)]);
      }
  }
  const std::string& operator()(const std::string& op) const { return colors_.at(op); }
  const std::vector<std::string>& order() const { return order_; }

  /// Black or white, whichever reads better on `hex` (WCAG relative luminance).
  static std::string_view text_on(std::string_view hex) {
    const auto channel = [&](std::size_t i) {
      const double c = std::stoi(std::string(hex.substr(i, 2)), nullptr, 16) / 255.0;
      return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    };
    const double l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    return l > 0.36 ? "#1b1f24" : "#ffffff";
  }

 private:
  std::map<std::string, std::string> colors_;
  std::vector<std::string> order_;
};

bool is_no_op(const std::string& op) {
  return op == "identity" || op == "skip_connect" || op == "skip" || op == "none" || op == "zero";
}

std::string op_chip(const OpColors& colors, const std::string& op, std::string_view extra_class = "",
                           std::string_view title = "") {
  const std::string& c = colors(op);
  return fmt::format(R"(<span class="chip{}{}" style="background:{};color:{}"{}>{}</span>)",
                     extra_class.empty() ? "" : " ", extra_class, c, OpColors::text_on(c),
                     title.empty() ? std::string() : fmt::format(R"( title="{}")", html_escape(title)), html_escape(op));
}

// --- SVG: the ResNet space as stages of blocks ----------------------------------------------------

/// Blocks grouped into stages by their name's prefix ("stage1.block0" → "stage1"), in order.
std::vector<std::pair<std::string, std::vector<std::size_t>>> stages_of(const std::vector<Block>& blocks) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> stages;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const auto dot = blocks[b].name.rfind('.');
    const std::string stage = dot == std::string::npos ? std::string("blocks") : blocks[b].name.substr(0, dot);
    if (stages.empty() || stages.back().first != stage) stages.push_back({stage, {}});
    stages.back().second.push_back(b);
  }
  return stages;
}

std::string resnet_svg(const Run& run, const OpColors& colors) {
  constexpr double label_w = 96, box_w = 100, box_h = 38, gap = 22, small_h = 22, lane_gap = 6, row_gap = 30,
                   top = 10, per_row_max = 9;
  const auto stages = stages_of(run.record.space.blocks);
  // Names too long for a box are squeezed into it rather than spilling over its neighbours.
  const auto fit = [](const std::string& name, double room, double char_w) {
    return static_cast<double>(name.size()) * char_w > room
               ? fmt::format(R"( textLength="{:.0f}" lengthAdjust="spacingAndGlyphs")", room)
               : std::string();
  };
  std::size_t widest = 1;
  for (const auto& [name, members] : stages) widest = std::max(widest, std::min<std::size_t>(members.size(), per_row_max));
  const double width = label_w + widest * (box_w + gap) + 8;

  std::string body;
  double y = top;
  for (const auto& [stage, members] : stages) {
    for (std::size_t start = 0; start < members.size(); start += per_row_max) {
      const std::size_t end = std::min<std::size_t>(members.size(), start + per_row_max);
      if (start == 0) {
        body += fmt::format(R"(<text class="stage" x="0" y="{:.0f}">{}</text>)", y + box_h / 2 + 5, html_escape(stage));
      }
      body += fmt::format(R"(<text class="lane" x="0" y="{:.0f}">α0</text>)", y + box_h + lane_gap + small_h / 2 + 4);
      for (std::size_t i = start; i < end; ++i) {
        const std::size_t b = members[i];
        const Block& block = run.record.space.blocks[b];
        const double x = label_w + (i - start) * (box_w + gap);
        const std::string& op = block.ops[run.record.found.architecture[b]];
        const std::string& op0 = block.ops[run.record.initial.architecture[b]];
        const bool skipped = (block.identity && run.record.found.architecture[b] == *block.identity) || op == "identity";
        const bool skipped0 = (block.identity && run.record.initial.architecture[b] == *block.identity) || op0 == "identity";
        const bool changed = run.record.found.architecture[b] != run.record.initial.architecture[b];
        const std::string title = fmt::format("{}: {}{}", block.name, op, changed ? fmt::format(" (α0: {})", op0) : std::string(" (as in α0)"));
        // The found op.
        body += fmt::format(R"(<g class="block{}" data-block="{}"><title>{}</title>)", skipped ? " skipped" : "", b, html_escape(title));
        if (skipped) {
          body += fmt::format(R"(<rect x="{:.0f}" y="{:.0f}" width="{:.0f}" height="{:.0f}" rx="6" class="skip-box"/>)", x, y, box_w, box_h);
          body += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" class="skip-text"{}>{}</text>)", x + box_w / 2, y + box_h / 2 + 4,
                              fit(op, box_w - 10, 7.5), html_escape(op));
        } else {
          const std::string& c = colors(op);
          body += fmt::format(R"(<rect x="{:.0f}" y="{:.0f}" width="{:.0f}" height="{:.0f}" rx="6" fill="{}"/>)", x, y, box_w, box_h, c);
          body += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" fill="{}"{}>{}</text>)", x + box_w / 2, y + box_h / 2 + 4,
                              OpColors::text_on(c), fit(op, box_w - 10, 7.5), html_escape(op));
        }
        if (changed) body += fmt::format(R"(<circle cx="{:.0f}" cy="{:.0f}" r="5" class="changed"/>)", x + box_w - 2, y + 2);
        body += "</g>";
        // α0's op, under it.
        const double y0 = y + box_h + lane_gap;
        body += fmt::format(R"(<g class="alpha0"><title>{}: α0 {}</title>)", html_escape(block.name), html_escape(op0));
        if (skipped0) {
          body += fmt::format(R"(<rect x="{:.0f}" y="{:.0f}" width="{:.0f}" height="{:.0f}" rx="4" class="skip-box"/>)", x + 8, y0, box_w - 16, small_h);
          body += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" class="skip-text small"{}>{}</text>)", x + box_w / 2, y0 + small_h / 2 + 4,
                              fit(op0, box_w - 24, 6.4), html_escape(op0));
        } else {
          const std::string& c = colors(op0);
          body += fmt::format(R"(<rect x="{:.0f}" y="{:.0f}" width="{:.0f}" height="{:.0f}" rx="4" fill="{}" opacity="0.45"/>)", x + 8, y0, box_w - 16, small_h, c);
          body += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" class="small"{}>{}</text>)", x + box_w / 2, y0 + small_h / 2 + 4,
                              fit(op0, box_w - 24, 6.4), html_escape(op0));
        }
        body += "</g>";
        if (i + 1 < end) {  // the data flows to the next block
          const double ax = x + box_w + 2, bx = x + box_w + gap - 3, ay = y + box_h / 2;
          body += fmt::format(R"~(<line x1="{:.0f}" y1="{:.0f}" x2="{:.0f}" y2="{:.0f}" class="flow" marker-end="url(#resnet-arrow)"/>)~", ax, ay, bx, ay);
        }
      }
      y += box_h + lane_gap + small_h + row_gap;
    }
  }
  const double height = y - row_gap + 10;
  return fmt::format(
      R"(<svg id="architecture-svg" class="arch resnet" viewBox="0 0 {:.0f} {:.0f}" width="{:.0f}" role="img" aria-label="found architecture, with α0 under each block">)"
      R"(<defs><marker id="resnet-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">)"
      R"(<path d="M0,0 L10,5 L0,10 z" fill="#8a9199"/></marker></defs>{}</svg>)",
      width, height, width, body);
}

// --- SVG: a DARTS cell, as DARTS's plot_genotype draws it ----------------------------------------

std::string cell_svg(const Run& run, const std::vector<CellEdge>& edges, std::string_view which,
                            const OpColors& colors) {
  std::size_t nodes = 0;
  for (const auto& e : edges) nodes = std::max(nodes, e.node + 1);
  // Inputs c_{k-2}, c_{k-1} on the left, nodes zig-zag in the middle, c_k on the right.
  constexpr double col = 165, x_in = 62, top_y = 92, bottom_y = 262, height = 356;
  const double x_out = x_in + 150 + nodes * col;
  const double width = x_out + 70;
  struct Point {
    double x, y;
  };
  const auto position = [&](std::size_t input) -> Point {  // 0, 1: the cell's inputs; 2..: node input-2
    if (input == 0) return {x_in, top_y - 20};
    if (input == 1) return {x_in, bottom_y + 20};
    const std::size_t n = input - 2;
    return {x_in + 160 + n * col, n % 2 == 0 ? top_y : bottom_y};
  };
  // Boxes labels must not cover: the nodes, then each label placed.
  struct Box {
    double x0, y0, x1, y1;
  };
  const auto overlap = [](const Box& a, const Box& b) {
    const double w = std::min(a.x1, b.x1) - std::max(a.x0, b.x0), h = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
    return w > 0 && h > 0 ? w * h : 0.0;
  };
  const Point out{x_out, (top_y + bottom_y) / 2};
  std::vector<Box> taken;
  for (std::size_t input = 0; input < nodes + 2; ++input) {
    const Point p = position(input);
    const double hw = input < 2 ? 44 : 23, hh = input < 2 ? 19 : 23;
    taken.push_back({p.x - hw, p.y - hh, p.x + hw, p.y + hh});
  }
  taken.push_back({out.x - 46, out.y - 19, out.x + 46, out.y + 19});

  std::vector<bool> used(nodes, false);
  std::string paths, labels;
  std::size_t drawn = 0;
  for (const auto& e : edges) {
    const std::string& op = run.record.space.blocks[e.block].ops[run.record.found.architecture[e.block]];
    if (op == "none" || op == "zero") continue;
    used[e.node] = true;
    ++drawn;
    const Point s = position(e.from), t = position(e.node + 2);
    const double sx = s.x + (e.from < 2 ? 42 : 22), tx = t.x - 22;
    // Edges that jump over a node in their own row bend away from it.
    double bend = 0;
    if (e.from >= 2 && std::fabs(s.y - t.y) < 1) bend = s.y < 150 ? -58 : 58;
    if (e.from < 2 && e.node >= 2) bend = (e.from == 0 ? -1.0 : 1.0) * (18.0 + 14.0 * static_cast<double>(e.node));
    const double dx = (tx - sx) * 0.45;
    const Point c1{sx + dx, s.y + bend}, c2{tx - dx, t.y + bend};
    const std::string& c = colors(op);
    paths += fmt::format(R"~(<path d="M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}" stroke="{}" class="edge" marker-end="url(#{}-arrow)"><title>{} → node {}: {} ({})</title></path>)~",
                         sx, s.y, c1.x, c1.y, c2.x, c2.y, tx, t.y, c, which,
                         e.from == 0 ? "c_{k-2}" : e.from == 1 ? "c_{k-1}" : fmt::format("node {}", e.from - 2), e.node,
                         html_escape(op), html_escape(run.record.space.blocks[e.block].name));
    // The label sits on the curve: at the middle if it is free, else at the free point nearest to it
    // (or, if none is, where it covers the least).
    const double lw = 7.0 * static_cast<double>(op.size()) + 10, lh = 17;
    Box best{};
    double best_cost = std::numeric_limits<double>::infinity();
    for (double tt : {0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.2, 0.8}) {
      const double u = 1 - tt;
      const double lx = u * u * u * sx + 3 * u * u * tt * c1.x + 3 * u * tt * tt * c2.x + tt * tt * tt * tx;
      const double ly = u * u * u * s.y + 3 * u * u * tt * c1.y + 3 * u * tt * tt * c2.y + tt * tt * tt * t.y;
      const Box box{lx - lw / 2, ly - lh / 2, lx + lw / 2, ly + lh / 2};
      double cost = 0;
      for (const Box& other : taken) cost += overlap(box, other);
      if (cost < best_cost) {
        best = box;
        best_cost = cost;
      }
      if (cost == 0) break;
    }
    taken.push_back({best.x0 - 2, best.y0 - 1, best.x1 + 2, best.y1 + 1});
    labels += fmt::format(R"(<g class="edge-label"><rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" rx="3" stroke="{}"/><text x="{:.1f}" y="{:.1f}">{}</text></g>)",
                          best.x0, best.y0, lw, lh, c, (best.x0 + best.x1) / 2, best.y1 - 4.5, html_escape(op));
  }
  std::string shapes;
  // Every node feeds the output (the concatenation), in grey as DARTS draws it.
  for (std::size_t n = 0; n < nodes; ++n) {
    const Point p = position(n + 2);
    paths += fmt::format(R"~(<path d="M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}" class="concat" marker-end="url(#{}-arrow-grey)"/>)~",
                         p.x + 22, p.y, p.x + 60, p.y, out.x - 90, out.y, out.x - 44, out.y, which);
  }
  for (std::size_t input = 0; input < 2; ++input) {
    const Point p = position(input);
    shapes += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="84" height="34" rx="6" class="cell-input"/><text x="{:.1f}" y="{:.1f}" class="node-text">{}</text>)",
                          p.x - 42, p.y - 17, p.x, p.y + 5, input == 0 ? "c_{k-2}" : "c_{k-1}");
  }
  for (std::size_t n = 0; n < nodes; ++n) {
    const Point p = position(n + 2);
    shapes += fmt::format(R"(<g class="cell-node{}"><title>node {}{}</title><circle cx="{:.1f}" cy="{:.1f}" r="21"/><text x="{:.1f}" y="{:.1f}" class="node-text">{}</text></g>)",
                          used[n] ? "" : " unused", n, used[n] ? "" : ": every incoming edge is none", p.x, p.y, p.x, p.y + 5, n);
  }
  shapes += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="88" height="34" rx="6" class="cell-output"/><text x="{:.1f}" y="{:.1f}" class="node-text">c_{{k}}</text>)",
                        out.x - 44, out.y - 17, out.x, out.y + 5);
  const auto marker = [&](std::string_view id, std::string_view fill) {
    return fmt::format(R"(<marker id="{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>)",
                       id, fill);
  };
  // One arrowhead per op colour (SVG 1.1 markers cannot take the path's stroke).
  std::string markers = marker(fmt::format("{}-arrow-grey", which), "#9aa1a9");
  markers += marker(fmt::format("{}-arrow", which), "#5b6168");
  return fmt::format(R"(<svg id="cell-{}" class="arch cell" viewBox="0 0 {:.0f} {:.0f}" role="img" aria-label="{} cell, {} edges" data-edges="{}"><defs>{}</defs>{}{}{}</svg>)",
                     which, width, height, which, drawn, drawn, markers, paths, shapes, labels);
}

// --- the page ------------------------------------------------------------------------------------



std::string change_class(std::optional<double> from, std::optional<double> to) {
  if (!from || !to || *from == *to) return "";
  return *to < *from ? "down" : "up";
}

std::string placeholder(std::string_view what, std::string_view command) {
  return fmt::format(R"(<div class="placeholder">not run yet: <code>{}</code> {}</div>)", html_escape(command), html_escape(what));
}

std::string display_name(const std::string& probe_name) {
  if (probe_name == "alpha0") return "α0";
  return probe_name;
}

/// The heading's name of a search.method.
std::string method_title(const std::string& method) {
  if (method == "faunae") return "FaUNAE search";
  if (method == "faunae-ts") return "FaUNAE-TS search";
  if (method == "faunae-lt") return "FaUNAE-LT search";
  if (method == "faunae-r") return "FaUNAE-R search";
  if (method == "random") return "Random search";
  if (method == "rea") return "Regularized evolution";
  if (method == "local") return "Local search";
  return method + " search";
}

/// The baselines evaluate architectures and return the best one; they eliminate no op.
bool method_eliminates(const std::string& method) { return method != "random" && method != "rea" && method != "local"; }

std::string render(const Run& run, const Assets& assets) {
  const OpColors colors(run.record.space.blocks);
  const std::string dir = run.run_dir.empty() ? std::string("RUN_DIR") : run.run_dir;
  const std::size_t last_epoch = run.record.history.empty() ? 0 : run.record.history.back().epoch;
  const std::size_t mutation_epochs = std::count_if(run.record.history.begin(), run.record.history.end(), [](const EpochRecord& e) { return e.epoch > 0; });

  // Rounds of eq. (10): the epochs that eliminated ops.
  std::vector<std::size_t> rounds;  // indices into history
  for (std::size_t i = 0; i < run.record.history.size(); ++i)
    if (!run.record.history[i].eliminations.empty()) rounds.push_back(i);

  const ProbeEntry* probe_evolved = nullptr;
  const ProbeEntry* probe_alpha0 = nullptr;
  const ProbeEntry* probe_random = nullptr;
  if (run.probe)
    for (const auto& p : *run.probe) {
      if (p.name == "evolved" && !probe_evolved) probe_evolved = &p;
      if (p.name == "alpha0" && !probe_alpha0) probe_alpha0 = &p;
      if (p.name == "random" && !probe_random) probe_random = &p;
    }

  // ---- data for the charts
  json data = json::object();
  {
    json points = json::array(), train = json::array(), accepted = json::array(), reverted = json::array(), alpha0 = json::array();
    for (const auto& e : run.record.history) {
      const bool finite = std::isfinite(e.loss);
      points.push_back({{"x", e.epoch}, {"y", finite ? json(e.loss) : json(nullptr)}});
      if (const auto t = train_loss_of(e)) train.push_back({{"x", e.epoch}, {"y", *t}});
      if (!finite) continue;
      if (e.epoch == 0) {
        alpha0.push_back({{"x", 0}, {"y", e.loss}});
        continue;
      }
      if (e.mutations.empty()) continue;
      json text = json::array();
      std::size_t n_accepted = 0;
      for (const auto& m : e.mutations) {
        n_accepted += m.accepted ? 1 : 0;
        const auto& ops = run.record.space.blocks[m.block].ops;
        text.push_back(fmt::format("{} {}: {} → {} ({}, l {} → {})", m.accepted ? "✓" : "✗", run.record.space.blocks[m.block].name,
                                   ops[m.from], ops[m.to], kind_name(m.kind), loss_text(m.loss_from), loss_text(m.loss_to)));
      }
      if (text.size() > 8) {
        const std::size_t more = text.size() - 8;
        text.erase(text.begin() + 8, text.end());
        text.push_back(fmt::format("… and {} more", more));
      }
      json point = {{"x", e.epoch}, {"y", e.loss}, {"text", std::move(text)}};
      (n_accepted > 0 ? accepted : reverted).push_back(std::move(point));
    }
    json round_epochs = json::array();
    for (std::size_t i : rounds) round_epochs.push_back(run.record.history[i].epoch);
    data["loss"] = {{"points", std::move(points)}, {"train", std::move(train)}, {"accepted", std::move(accepted)},
                    {"reverted", std::move(reverted)}, {"alpha0", std::move(alpha0)}, {"rounds", std::move(round_epochs)},
                    {"last_epoch", std::max<std::size_t>(last_epoch, 1)}};
  }
  {
    json names = json::array(), params = json::array(), flops = json::array(), params_rel = json::array(), flops_rel = json::array();
    const auto add = [&](std::string name, std::optional<double> p, std::optional<double> f) {
      names.push_back(std::move(name));
      params.push_back(p ? json(*p) : json(nullptr));
      flops.push_back(f ? json(*f) : json(nullptr));
      params_rel.push_back(p && run.record.initial.params && *run.record.initial.params > 0 ? json(100.0 * *p / *run.record.initial.params) : json(nullptr));
      flops_rel.push_back(f && run.record.initial.flops && *run.record.initial.flops > 0 ? json(100.0 * *f / *run.record.initial.flops) : json(nullptr));
    };
    add("α0", run.record.initial.params, run.record.initial.flops);
    add("found", run.record.found.params, run.record.found.flops);
    if (probe_random) add("random", probe_random->params, probe_random->flops);
    if ((run.record.initial.params && run.record.found.params) || (run.record.initial.flops && run.record.found.flops))
      data["cost"] = {{"names", names}, {"params", params}, {"flops", flops}, {"params_rel", params_rel}, {"flops_rel", flops_rel}};
  }
  if (run.probe && !run.probe->empty()) {
    json labels = json::array(), names = json::array(), linear = json::array(), knn = json::array();
    for (const auto& p : *run.probe) {
      labels.push_back(display_name(p.name));
      names.push_back(p.name);
      linear.push_back(p.linear ? json(*p.linear) : json(nullptr));
      knn.push_back(p.knn ? json(*p.knn) : json(nullptr));
    }
    data["probe"] = {{"labels", labels}, {"names", names}, {"linear", linear}, {"knn", knn}};
  }
  if (run.train && !run.train->empty()) {
    json series = json::array();
    for (const auto& c : *run.train) {
      json pts = json::array();
      for (const auto& [x, y] : c.loss) pts.push_back({{"x", x}, {"y", y}});
      series.push_back({{"name", c.name}, {"label", display_name(c.name)}, {"points", std::move(pts)}});
    }
    data["train"] = std::move(series);
  }

  std::string h;
  h.reserve(assets.chart_js.size() + assets.style.size() + assets.script.size() + 64 * 1024);
  const std::string seed = json_scalar_text(run.record.seed);
  const std::string space_name = run.record.space.kind == "resnet" ? "ResNet blocks" : "DARTS cells";
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // Self-contained: nothing may be loaded from anywhere.
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'; img-src data:\">\n";
  h += fmt::format("<title>faunae report — {}, {} space, seed {}</title>\n", html_escape(run.record.method), html_escape(run.record.space.kind), html_escape(seed));
  h += "<style>";
  h += assets.style;
  h += "</style>\n</head>\n<body>\n<main>\n";

  // ---- header and summary
  h += "<header id=\"summary\">\n";
  h += fmt::format("<h1>{} — {} space</h1>\n", html_escape(method_title(run.record.method)), html_escape(space_name));
  {
    std::string sub = fmt::format("method <code>{}</code> · {} blocks · seed {}", html_escape(run.record.method), run.record.space.blocks.size(), html_escape(seed));
    if (run.record.config.is_object()) {
      if (auto d = run.record.config.find("data"); d != run.record.config.end() && d->is_object())
        if (auto k = d->find("kind"); k != d->end() && k->is_string()) sub += fmt::format(" · data {}", html_escape(k->get<std::string>()));
      if (auto i = run.record.config.find("initial"); i != run.record.config.end() && i->is_string())
        sub += fmt::format(" · α0 = {}", html_escape(i->get<std::string>()));
      if (auto s = run.record.config.find("search"); s != run.record.config.end() && s->is_object())
        if (auto e = s->find("evaluator"); e != s->end() && e->is_string())
          sub += fmt::format(" · evaluator <code>{}</code>", html_escape(e->get<std::string>()));
    }
    if (!run.run_dir.empty()) sub += fmt::format(" · <code>{}</code>", html_escape(run.run_dir));
    h += fmt::format("<p class=\"sub\">{}</p>\n", sub);
  }
  h += "<div class=\"cards\">\n";
  const auto card = [&](std::string_view key, const std::string& value, const std::string& detail = "", const std::string& cls = "") {
    h += fmt::format(R"(<div class="card"><div class="k">{}</div><div class="v">{}</div>{}</div>)", key, value,
                     detail.empty() ? std::string() : fmt::format(R"(<div class="d {}">{}</div>)", cls, detail));
    h += "\n";
  };
  card("epochs", fmt::format("{}", mutation_epochs), fmt::format("{} elimination rounds", rounds.size()));
  card("evaluations", run.record.evaluations ? fmt::format("{}", *run.record.evaluations) : std::string("–"));
  card("search time", run.record.seconds ? duration(*run.record.seconds) : std::string("–"));
  card("parameters", run.record.found.params ? si(*run.record.found.params) : std::string("–"),
       run.record.initial.params ? fmt::format("α0 {} · {}", si(*run.record.initial.params), percent_change(run.record.initial.params, run.record.found.params)) : std::string(),
       change_class(run.record.initial.params, run.record.found.params));
  card("FLOPs", run.record.found.flops ? si(*run.record.found.flops) : std::string("–"),
       run.record.initial.flops ? fmt::format("α0 {} · {}", si(*run.record.initial.flops), percent_change(run.record.initial.flops, run.record.found.flops)) : std::string(),
       change_class(run.record.initial.flops, run.record.found.flops));
  if (probe_evolved && probe_evolved->linear) {
    std::string detail;
    if (probe_alpha0 && probe_alpha0->linear) detail = fmt::format("α0 {:.1f}%", 100 * *probe_alpha0->linear);
    if (probe_random && probe_random->linear)
      detail += fmt::format("{}random {:.1f}%", detail.empty() ? "" : " · ", 100 * *probe_random->linear);
    card("linear eval.", fmt::format("{:.1f}%", 100 * *probe_evolved->linear), detail);
  } else {
    card("linear eval.", "–", "probe not run yet");
  }
  h += "</div>\n</header>\n";
  h += "<nav><a href=\"#loss\">loss</a><a href=\"#eliminations\">eliminations</a><a href=\"#architecture\">architecture</a>"
       "<a href=\"#cost\">params &amp; FLOPs</a><a href=\"#probe\">linear evaluation</a><a href=\"#train\">final training</a>"
       "<a href=\"#ops\">ops</a><a href=\"#config\">configuration</a></nav>\n";

  // ---- loss curve
  h += "<section id=\"loss\">\n<h2>Loss over the search</h2>\n";
  h += "<p class=\"note\">The loss of each epoch's architecture α_n (epoch 0 is α0). ▲ an epoch where eq. (5) accepted at "
       "least one mutated block; ✕ one where every mutation was reverted; dashed lines: elimination rounds (eq. 10). "
       "Hover a point for its mutations.</p>\n";
  if (run.record.history.empty()) h += "<div class=\"placeholder\">The history is empty: the search has not completed an epoch.</div>\n";
  else h += "<div class=\"chart\" id=\"loss-chart\" data-rendered=\"0\"><canvas aria-label=\"loss per epoch\"></canvas></div>\n";
  h += "</section>\n";

  // ---- elimination timeline
  h += "<section id=\"eliminations\">\n<h2>Elimination timeline</h2>\n";
  h += "<p class=\"note\">Per block, the op each round of eq. (10) dropped (the op with the largest w of eq. 9). "
       "An underlined chip was the block's current op and was replaced; the last column is the op the search ended with.</p>\n";
  h += "<div class=\"timeline-wrap\"><table class=\"timeline\" id=\"elimination-table\">\n<thead><tr><th>block</th><th>α0</th>";
  for (std::size_t r = 0; r < rounds.size(); ++r)
    h += fmt::format("<th title=\"epoch {}\">round {}<br><span class=\"note\">epoch {}</span></th>", run.record.history[rounds[r]].epoch, r + 1,
                     run.record.history[rounds[r]].epoch);
  h += "<th class=\"final\">found</th></tr></thead>\n<tbody>\n";
  for (std::size_t b = 0; b < run.record.space.blocks.size(); ++b) {
    const Block& block = run.record.space.blocks[b];
    h += fmt::format("<tr><td class=\"block\">{}</td><td>{}</td>", html_escape(block.name), op_chip(colors, block.ops[run.record.initial.architecture[b]]));
    for (std::size_t i : rounds) {
      std::string cell;
      for (const auto& e : run.record.history[i].eliminations) {
        if (e.block != b) continue;
        const std::string title = e.replacement ? fmt::format("dropped {} (the current op), replaced by {}", block.ops[e.op], block.ops[*e.replacement])
                                                : fmt::format("dropped {}", block.ops[e.op]);
        cell += op_chip(colors, block.ops[e.op], e.replacement ? "replaced" : "", title);
      }
      h += cell.empty() ? std::string("<td class=\"none\">·</td>") : fmt::format("<td>{}</td>", cell);
    }
    std::string alive_note;
    if (b < run.record.alive.size()) {
      const auto left = std::count(run.record.alive[b].begin(), run.record.alive[b].end(), true);
      if (left > 1) alive_note = fmt::format(" <span class=\"note\">{} ops still alive</span>", left);
    }
    h += fmt::format("<td class=\"final\">{}{}</td></tr>\n", op_chip(colors, block.ops[run.record.found.architecture[b]], "final"), alive_note);
  }
  h += "</tbody></table></div>\n";
  if (rounds.empty() && !method_eliminates(run.record.method))
    h += fmt::format("<p class=\"note\">search.method = {} eliminates no op: it evaluates architectures and returns the best "
                     "one evaluated.</p>\n", html_escape(run.record.method));
  else if (rounds.empty()) h += "<p class=\"note\">No elimination round yet.</p>\n";
  h += "</section>\n";

  // ---- architecture
  h += "<section id=\"architecture\">\n<h2>Found architecture</h2>\n";
  if (run.record.space.kind == "resnet") {
    h += "<p class=\"note\">Stages as rows of search blocks, data flowing left to right; each block shows the op found, with "
         "α0's op under it (lighter). Dashed: the block is skipped (identity, a depth mutation). "
         "<span style=\"color:#f28e2b\">●</span> the op differs from α0.</p>\n";
    h += "<div class=\"arch-wrap\">" + resnet_svg(run, colors) + "</div>\n";
  } else {
    h += "<p class=\"note\">As DARTS draws its genotypes: the cell's inputs c_{k-2} and c_{k-1} (the two previous cells), "
         "the intermediate nodes 0–3, each the sum of its incoming edges, and c_{k}, the nodes concatenated (grey). "
         "All edges of the found architecture that are not <i>none</i> are drawn.</p>\n";
    h += "<h3>Normal cell</h3>\n<div class=\"arch-wrap\">" + cell_svg(run, run.record.space.normal_cell, "normal", colors) + "</div>\n";
    h += "<h3>Reduction cell</h3>\n<div class=\"arch-wrap\">" + cell_svg(run, run.record.space.reduction_cell, "reduce", colors) + "</div>\n";
  }
  h += "</section>\n";

  // ---- params and FLOPs
  h += "<section id=\"cost\">\n<h2>Parameters and FLOPs against α0</h2>\n<div class=\"two\"><div>\n";
  h += "<table id=\"cost-table\"><thead><tr><th></th><th class=\"num\">α0</th><th class=\"num\">found</th><th class=\"num\">change</th>";
  if (probe_random) h += "<th class=\"num\">random</th>";
  h += "</tr></thead><tbody>\n";
  const auto cost_row = [&](std::string_view what, std::optional<double> a0, std::optional<double> found, std::optional<double> random) {
    h += fmt::format(R"(<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num {}">{}</td>)", what,
                     a0 ? si(*a0) : "–", found ? si(*found) : "–", change_class(a0, found), percent_change(a0, found));
    if (probe_random) h += fmt::format(R"(<td class="num">{}</td>)", random ? si(*random) : "–");
    h += "</tr>\n";
  };
  cost_row("parameters", run.record.initial.params, run.record.found.params, probe_random ? probe_random->params : std::nullopt);
  cost_row("FLOPs", run.record.initial.flops, run.record.found.flops, probe_random ? probe_random->flops : std::nullopt);
  h += "</tbody></table>\n</div><div>\n";
  if (data.contains("cost")) h += "<div class=\"chart short\" id=\"cost-chart\" data-rendered=\"0\"><canvas aria-label=\"parameters and FLOPs\"></canvas></div>\n";
  else h += "<div class=\"placeholder\">search.json has no params / flops for α0 and the found architecture.</div>\n";
  h += "</div></div>\n</section>\n";

  // ---- probe
  h += "<section id=\"probe\">\n<h2>Linear evaluation: evolved against α0 and a random architecture</h2>\n";
  if (!run.probe) {
    h += placeholder("(trains each architecture briefly and evaluates a linear classifier on its frozen features)",
                     fmt::format("faunae probe {}", dir));
  } else {
    if (run.probe_budget.is_object() && !run.probe_budget.empty()) {
      std::string budget;
      for (const auto& [k, v] : run.probe_budget.items())
        budget += fmt::format("{}{} {}", budget.empty() ? "" : ", ", html_escape(json_scalar_text(v)), html_escape(k));
      h += fmt::format("<p class=\"note\">Budget per architecture: {}.</p>\n", budget);
    }
    if (probe_evolved && probe_evolved->linear) {
      std::string vs;
      for (const ProbeEntry* other : {probe_alpha0, probe_random})
        if (other && other->linear)
          vs += fmt::format("{}{:+.1f} points against {}", vs.empty() ? "" : ", ", 100 * (*probe_evolved->linear - *other->linear),
                            other == probe_alpha0 ? "α0" : "the random architecture");
      if (!vs.empty()) h += fmt::format("<p>The evolved architecture: {}.</p>\n", vs);
    }
    h += "<div class=\"two\"><div>\n<table id=\"probe-table\"><thead><tr><th>architecture</th><th class=\"num\">linear</th>"
         "<th class=\"num\">kNN</th><th class=\"num\">params</th><th class=\"num\">FLOPs</th></tr></thead><tbody>\n";
    const auto acc = [](std::optional<double> v) { return v ? fmt::format("{:.1f}%", 100 * *v) : std::string("–"); };
    for (const auto& p : *run.probe)
      h += fmt::format(R"(<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>)"
                       "\n",
                       html_escape(display_name(p.name)), acc(p.linear), acc(p.knn), p.params ? si(*p.params) : "–",
                       p.flops ? si(*p.flops) : "–");
    h += "</tbody></table>\n</div><div>\n";
    if (data.contains("probe")) h += "<div class=\"chart short\" id=\"probe-chart\" data-rendered=\"0\"><canvas aria-label=\"linear evaluation accuracy\"></canvas></div>\n";
    h += "</div></div>\n";
  }
  h += "</section>\n";

  // ---- final training
  h += "<section id=\"train\">\n<h2>Final training</h2>\n";
  if (!run.train) {
    h += placeholder("(trains the found architecture from scratch)", fmt::format("faunae train {}", dir));
  } else if (data.contains("train")) {
    std::string times;
    for (const auto& c : *run.train)
      if (c.seconds) times += fmt::format("{}{} {}", times.empty() ? "" : ", ", html_escape(display_name(c.name)), duration(*c.seconds));
    if (!times.empty()) h += fmt::format("<p class=\"note\">Training time: {}.</p>\n", times);
    h += "<div class=\"chart short\" id=\"train-chart\" data-rendered=\"0\"><canvas aria-label=\"final training loss\"></canvas></div>\n";
  } else {
    h += "<div class=\"placeholder\">train.json lists no architectures.</div>\n";
  }
  h += "</section>\n";

  // ---- op legend
  h += "<section id=\"ops\">\n<h2>Ops</h2>\n<div class=\"legend\">";
  for (const auto& op : colors.order()) {
    std::size_t in_found = 0;
    for (std::size_t b = 0; b < run.record.space.blocks.size(); ++b) in_found += run.record.space.blocks[b].ops[run.record.found.architecture[b]] == op ? 1 : 0;
    h += op_chip(colors, op, "", fmt::format("{} in {} of {} blocks of the found architecture", op, in_found, run.record.space.blocks.size()));
    h += fmt::format(" <span class=\"note\">×{}</span>", in_found);
  }
  h += "</div>\n<p class=\"note\">×n: blocks of the found architecture that use the op.</p>\n</section>\n";

  // ---- configuration
  h += "<section id=\"config\">\n<h2>Configuration</h2>\n";
  if (run.record.config.is_null()) h += "<p class=\"note\">search.json holds no configuration.</p>\n";
  else h += "<details><summary>the resolved configuration</summary><pre>" + html_escape(run.record.config.dump(2, ' ', false, json::error_handler_t::replace)) + "</pre></details>\n";
  h += "</section>\n";
  h += "<footer>made by <code>faunae report</code> from search.json";
  if (run.probe) h += ", probe.json";
  if (run.train) h += ", train.json";
  h += " · charts by Chart.js (MIT)</footer>\n</main>\n";

  h += "<script type=\"application/json\" id=\"faunae-data\">" + json_for_script(data) + "</script>\n";
  h += "<script>\n" + inline_script(assets.chart_js) + "\n</script>\n";
  h += "<script>";
  h += inline_script(assets.script);
  h += "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace detail

// See report.hpp.
std::string render_report(const nlohmann::json& run, const Assets& assets) {
  if (!run.is_object() || !run.contains("search"))
    throw InvalidArgument("faunae report: render_report() takes {\"search\": <search.json>, \"probe\"?: ..., \"train\"?: ...}; 'search' is missing");
  detail::Run r = detail::read_search(run.at("search"));
  if (auto p = run.find("probe"); p != run.end() && !p->is_null()) r.probe = detail::read_probe(*p, r.probe_budget);
  if (auto t = run.find("train"); t != run.end() && !t->is_null()) r.train = detail::read_train(*t);
  if (auto d = run.find("run_dir"); d != run.end() && d->is_string()) r.run_dir = d->get<std::string>();
  return detail::render(r, assets);
}

// See report.hpp.
std::filesystem::path assets_folder() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* env = std::getenv("FAUNAE_REPORT_ASSETS"); env && *env) return fs::path(env);
#ifdef FAUNAE_REPORT_INSTALLED_RELATIVE
  if (const fs::path exe = fs::read_symlink("/proc/self/exe", ec); !ec) {
    const fs::path installed = exe.parent_path() / FAUNAE_REPORT_INSTALLED_RELATIVE;
    if (fs::is_regular_file(installed / std::string(kStyleFile), ec)) return installed.lexically_normal();
  }
#endif
#ifdef FAUNAE_REPORT_SOURCE_DIR
  return fs::path(FAUNAE_REPORT_SOURCE_DIR);
#else
  throw IoError("faunae report: no assets folder: set FAUNAE_REPORT_ASSETS to the folder holding page.css, page.js and "
                "chart.umd.min.js (faunae's report/ folder after `npm ci --prefix report`, or <prefix>/share/faunae/report)");
#endif
}

// See report.hpp.
Assets load_assets(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto required = [&](std::string_view name) {
    const fs::path path = folder / std::string(name);
    if (!fs::is_regular_file(path, ec))
      throw IoError(fmt::format("faunae report: the report asset '{}' does not exist (the assets folder is '{}': set "
                                "FAUNAE_REPORT_ASSETS to a folder holding page.css, page.js and chart.umd.min.js)",
                                path.string(), folder.string()));
    return read_file(path, "faunae report");
  };
  Assets a;
  a.style = required(kStyleFile);
  std::string lower = a.style;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.find("</style") != std::string::npos)
    throw IoError(fmt::format("faunae report: '{}' contains '</style', which would end the page's <style> element",
                              (folder / std::string(kStyleFile)).string()));
  a.script = required(kScriptFile);
  const fs::path chart = folder / std::string(kChartJsFile);
  const fs::path chart_in_node_modules = folder / std::string(kChartJsInJsonNodeModules);
  if (fs::is_regular_file(chart, ec)) {
    a.chart_js = read_file(chart, "faunae report");
  } else if (fs::is_regular_file(chart_in_node_modules, ec)) {
    a.chart_js = read_file(chart_in_node_modules, "faunae report");
  } else {
    throw IoError(fmt::format("faunae report: the chart library is missing: neither '{}' nor '{}' exists; run "
                              "`npm ci --prefix report` in faunae's source folder (or set FAUNAE_REPORT_ASSETS to a folder "
                              "holding page.css, page.js and chart.umd.min.js)",
                              chart.string(), chart_in_node_modules.string()));
  }
  return a;
}

// See report.hpp.
void write_report(const std::filesystem::path& run_dir, const std::filesystem::path& out_html) {
  nlohmann::json run = {{"run_dir", run_dir.string()}};
  run["search"] = read_json_file(run_dir / "search.json", "faunae report", "run `faunae search` first");
  for (const char* optional : {"probe", "train"}) {
    const auto path = run_dir / (std::string(optional) + ".json");
    if (std::filesystem::exists(path)) run[optional] = read_json_file(path, "faunae report");
  }
  const std::string html = render_report(run, load_assets(assets_folder()));
  write_file_atomically(out_html, html);
}

}  // namespace faunae::report
