// `faunae report`: one self-contained HTML file made from a run directory's JSON files, for a person
// who would rather look at the run than read its logs.
//
//   - a summary (seed, epochs, evaluations, time; α0 against the found architecture: params, FLOPs);
//   - the loss of α_n per epoch, epochs with an accepted mutation and epochs whose mutations were all
//     reverted (eq. 5) marked differently, elimination rounds (eq. 10) as vertical lines;
//   - the elimination timeline: per block, which op each round dropped, and the op that was left;
//   - the found architecture drawn as inline SVG: a block diagram of the stages (ResNet space, α0
//     aligned under it) or the normal and reduction cells as graphs (DARTS space, drawn as DARTS
//     draws its genotypes);
//   - params and FLOPs against α0; linear-evaluation and kNN accuracy of the evolved architecture
//     against α0 and a random one (probe.json); the final training's loss (train.json);
//   - a legend of the ops' colours, and the resolved configuration.
//
// The page's static parts are real files in faunae's report/ folder: page.css (its style), page.js (draws
// the charts) and Chart.js (https://www.chartjs.org, MIT; `npm ci --prefix report` installs it,
// report/package-lock.json pins the version). They are inlined into each page, so the page needs no
// network (its Content-Security-Policy forbids any). `cmake --install` puts the three files in
// <prefix>/share/faunae/report. assets_folder() finds them: $FAUNAE_REPORT_ASSETS if set, else the
// installed folder next to the program (../share/faunae/report from its bin/), else the source tree's
// report/ folder (the compile-time definition FAUNAE_REPORT_SOURCE_DIR).
//
// Depends on faunae's core, nlohmann_json and fmt (not on Torch).
//
// Run directory (written by the `faunae` program):
//   search.json  required  a faunae::RunRecord (include/faunae/core/run_record.hpp documents its schema;
//                          run_record_from_json reads and checks it); the report draws "resnet" and
//                          "darts" spaces
//   probe.json   optional  {"budget"?: {...}, "architectures": [{"name", "params"?, "flops"?, "linear"?, "knn"?}]}
//   train.json   optional  {"architectures": [{"name", "epochs": [{"epoch", "loss", "seconds"?}]}]}
// Numbers may be null (NaN) or "inf"/"-inf", as faunae's serialization writes them; every error names
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace faunae::report {

/// The files of an assets folder: the page's style and script, and Chart.js's minified build, which
/// lies at the top of an installed folder and under node_modules/ in the source tree.
inline constexpr std::string_view kStyleFile = "page.css";
inline constexpr std::string_view kScriptFile = "page.js";
inline constexpr std::string_view kChartJsFile = "chart.umd.min.js";
inline constexpr std::string_view kChartJsInJsonNodeModules = "node_modules/chart.js/dist/chart.umd.min.js";

/// The page's static parts, inlined into every report (load_assets() reads them).
struct Assets {
  std::string style;     ///< page.css
  std::string script;    ///< page.js
  std::string chart_js;  ///< Chart.js's UMD build
};

/// The report as one HTML page. `run` holds the run directory's files:
///   {"search": <search.json>, "probe": <probe.json> (optional), "train": <train.json> (optional),
///    "run_dir": "<path>" (optional: shown, and used in the "not run yet: faunae probe <run_dir>" hints)}
/// `assets` are the page's style, script and Chart.js (load_assets(assets_folder()) reads them), inlined as they are.
/// Throws faunae::InvalidArgument naming the file and the key when a required key is missing or wrong.
std::string render_report(const nlohmann::json& run, const Assets& assets);

/// The folder holding the report's assets: $FAUNAE_REPORT_ASSETS if set (it must exist), else
/// <program's folder>/FAUNAE_REPORT_INSTALLED_RELATIVE (the installed layout, ../share/faunae/report)
/// when it exists, else FAUNAE_REPORT_SOURCE_DIR (the source tree's report/ folder); both are
/// compile-time definitions of report.cpp.
std::filesystem::path assets_folder();

/// Reads the report's assets from `folder` (see assets_folder()). Throws faunae::IoError naming the
/// missing file and the fix, or a style or script that would end its element early.
Assets load_assets(const std::filesystem::path& folder);

/// Reads run_dir/search.json (and probe.json, train.json when they exist) and writes the report to
/// `out_html` atomically. Throws faunae::IoError (a file cannot be read or written, or is not JSON)
/// or faunae::InvalidArgument (a required key is missing or wrong: the message names file and key).
void write_report(const std::filesystem::path& run_dir, const std::filesystem::path& out_html);

namespace detail {
/// A number as the page shows parameters and FLOPs: three significant digits and an SI suffix (23.5M, 412k, 1.20G).
std::string si(double v);
/// The relative change from `from` to `to` as the page shows it ("+4.2%"; "–" when either is missing).
std::string percent_change(std::optional<double> from, std::optional<double> to);
}  // namespace detail

}  // namespace faunae::report
