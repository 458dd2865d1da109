// report.html: self-contained, and every chart renders in a real browser (headless Chromium).
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/helpers.hpp"

using namespace moesim::test;
namespace fs = std::filesystem;

namespace {

const char* const CHARTS[] = {"chart-breakdown", "chart-expert-load", "chart-rank-load", "chart-stragglers",
                              "chart-traffic",   "chart-links",       "chart-timeline",  "chart-memory"};

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(candidate)) return candidate;
  FAIL("no Chromium found: .ci/deps.sh installs Debian's chromium package for this test");
  return "";
}

// The page as Chromium rendered it (DOM after load), with its console output; and a PNG.
struct Rendered {
  std::string dom;
  std::string console;
  fs::path png;
};

Rendered render(const fs::path& html) {
  const std::string browser = chromium() + " --headless --no-sandbox --disable-gpu --hide-scrollbars " +
                              "--enable-logging=stderr --v=0 --window-size=800,3400 ";
  Rendered r;
  const CommandResult dom = run_command(browser + "--dump-dom file://" + html.string() + " 2>" +
                                        (html.parent_path() / "console.txt").string());
  REQUIRE(dom.exit_code == 0);
  r.dom = dom.output;
  r.console = read_file((html.parent_path() / "console.txt").string());
  r.png = html.parent_path() / "report.png";
  const CommandResult shot = run_command(browser + "--screenshot=" + r.png.string() + " file://" + html.string());
  REQUIRE(shot.exit_code == 0);
  return r;
}

void check_report(const fs::path& dir) {
  const fs::path html = dir / "report.html";
  const std::string page = read_file(html.string());
  // Self-contained: nothing to fetch, nothing to run.
  for (const char* outside : {"<script", "<link", "src=", "url(", "https://", "@import"}) {
    INFO(outside);
    CHECK(page.find(outside) == std::string::npos);
  }
  const Rendered r = render(html);
  INFO(r.console);
  CHECK(r.console.find("Uncaught") == std::string::npos);
  CHECK(r.console.find(":CONSOLE") == std::string::npos);  // any console message is a page error
  for (const char* id : CHARTS) {
    INFO(id);
    // Each chart is in the rendered DOM with at least one drawn rectangle.
    const size_t start = r.dom.find(std::string("<svg id=\"") + id + "\"");
    REQUIRE(start != std::string::npos);
    const size_t end = r.dom.find("</svg>", start);
    REQUIRE(end != std::string::npos);
    CHECK(r.dom.substr(start, end - start).find("<rect") != std::string::npos);
  }
  REQUIRE(fs::exists(r.png));
  CHECK(fs::file_size(r.png) > 20000);  // a blank 800x3400 page compresses to a few kB
}

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("moesim_report_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("report.html of the default scenario renders every chart in headless Chromium", "[report]") {
  const fs::path dir = temp_dir("analytic");
  const CommandResult run = run_command(std::string(MOESIM_BINARY) + " run --out " + dir.string());
  REQUIRE(run.exit_code == 0);
  check_report(dir);
}

TEST_CASE("report.html of a discrete-event run shows the measured links", "[report]") {
  const fs::path dir = temp_dir("des");
  const CommandResult run = run_command(std::string(MOESIM_BINARY) + " run " + MOESIM_SOURCE_DIR +
                                        "/scenarios/olmoe-1b-7b-a100.json --engine des --out " + dir.string());
  REQUIRE(run.exit_code == 0);
  check_report(dir);
  CHECK_THAT(read_file((dir / "report.html").string()), Catch::Contains("links that carried traffic"));
}
