#include "cli/sweep_command.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <iostream>
#include <set>
#include <thread>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"
#include "sim/limits.hpp"
#include "sim/progress.hpp"
#include "sim/simulate.hpp"

namespace moesim {

const char* const SWEEP_USAGE = "moesim sweep SWEEP.json [--jobs N] [--shard I/N] --out FILE.jsonl\n";

namespace {

using json = nlohmann::ordered_json;

struct Args {
  std::string sweep;
  int jobs = 1;
  int shard = 0, shards = 1;
  std::string out;
};

Args parse_args(const std::vector<std::string>& args) {
  Args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--jobs") a.jobs = whole_number(option_value(args, i), "--jobs", 1);
    else if (arg == "--shard") {
      const std::string v = option_value(args, i);
      const size_t slash = v.find('/');
      if (slash == std::string::npos) throw CommandUsageError("--shard " + v + ": expected I/N, e.g. 0/4");
      a.shard = whole_number(v.substr(0, slash), "--shard I", 0);
      a.shards = whole_number(v.substr(slash + 1), "--shard N", 1);
      if (a.shard >= a.shards) throw CommandUsageError("--shard " + v + ": I counts from 0 and must be below N");
    } else if (arg == "--out") a.out = option_value(args, i);
    else if (arg.rfind("--", 0) == 0) throw CommandUsageError("unknown option " + arg);
    else if (a.sweep.empty()) a.sweep = arg;
    else throw CommandUsageError("more than one sweep file given: " + a.sweep + ", " + arg);
  }
  if (a.sweep.empty()) throw CommandUsageError("a sweep file is required");
  if (a.out.empty()) throw CommandUsageError("--out FILE.jsonl is required");
  return a;
}

// The sweep file: a base scenario (a path relative to the sweep file, or inline) and a grid
// of values per override key ("section.key", or a whole "section").
struct Sweep {
  std::string source;
  json base;
  std::string base_source;
  std::vector<std::pair<std::string, std::vector<json>>> grid;
  size_t points() const {
    size_t n = 1;
    for (const auto& [key, values] : grid) n *= values.size();
    return n;
  }
  // Point i's overrides, the last key varying fastest.
  json overrides(size_t i) const {
    json o = json::object();
    std::vector<size_t> digit(grid.size());
    for (size_t k = grid.size(); k-- > 0;) {
      digit[k] = i % grid[k].second.size();
      i /= grid[k].second.size();
    }
    for (size_t k = 0; k < grid.size(); ++k) o[grid[k].first] = grid[k].second[digit[k]];
    return o;
  }
};

[[noreturn]] void fail(const std::string& source, const std::string& path, const std::string& what) {
  throw InputError(source + ": " + path + ": " + what);
}

Sweep read_sweep(const std::string& path) {
  Sweep s;
  s.source = path;
  json doc;
  try {
    doc = json::parse(read_input_file(path, "sweep file"));
  } catch (const json::exception& e) {
    throw InputError(path + ": not JSON: " + e.what());
  }
  if (!doc.is_object()) fail(path, "/", "expected an object with scenario and grid");
  for (const auto& [key, value] : doc.items())
    if (key != "scenario" && key != "grid") fail(path, "/" + key, "unknown key; expected one of: scenario, grid");
  if (!doc.contains("scenario")) fail(path, "/scenario", "missing; expected a scenario file path or an inline scenario");
  const json& scenario = doc.at("scenario");
  if (scenario.is_string()) {
    const std::filesystem::path p(scenario.get<std::string>());
    s.base_source = p.is_absolute() ? p.string() : (std::filesystem::path(path).parent_path() / p).lexically_normal().string();
    try {
      s.base = json::parse(read_input_file(s.base_source, "scenario file"));
    } catch (const json::exception& e) {
      throw InputError(s.base_source + ": not JSON: " + e.what());
    }
  } else if (scenario.is_object()) {
    s.base = scenario;
    s.base_source = path;
  } else {
    fail(path, "/scenario", "expected a scenario file path or an inline scenario");
  }
  if (!doc.contains("grid") || !doc.at("grid").is_object() || doc.at("grid").empty())
    fail(path, "/grid", "expected an object of override keys, each with a list of values");
  for (const auto& [key, values] : doc.at("grid").items()) {
    if (!values.is_array() || values.empty()) fail(path, "/grid/" + key, "expected a non-empty list of values");
    const size_t dot = key.find('.');
    if (dot == 0 || dot + 1 == key.size() || (dot != std::string::npos && key.find('.', dot + 1) != std::string::npos))
      fail(path, "/grid/" + key, "expected \"section.key\" (e.g. plan.ep) or a whole section (e.g. router)");
    s.grid.emplace_back(key, std::vector<json>(values.begin(), values.end()));
  }
  return s;
}

json point_scenario(const Sweep& s, const json& overrides) {
  json doc = s.base;
  for (const auto& [key, value] : overrides.items()) {
    const size_t dot = key.find('.');
    if (dot == std::string::npos) doc[key] = value;
    else doc[key.substr(0, dot)][key.substr(dot + 1)] = value;
  }
  return doc;
}

// One point: its figures, or why it could not run (an infeasible plan, a limit).
json run_point(const Sweep& s, size_t index) {
  const json overrides = s.overrides(index);
  json line = {{"point", index}, {"overrides", overrides}};
  try {
    const Scenario scenario = parse_scenario(point_scenario(s, overrides).dump(), s.base_source);
    const StepResult r = simulate(scenario);
    line["engine"] = r.engine;
    line["step_time_s"] = r.step_time_s;
    line["tokens_per_s"] = r.tokens_per_s;
    line["mfu"] = r.mfu;
    line["drop_rate"] = r.drop_rate;
    line["expert_max_over_mean"] = r.expert_max_over_mean;
    line["rank_max_over_mean"] = r.rank_max_over_mean;
    line["a2a_bytes_intra"] = r.a2a_intra_node_bytes;
    line["a2a_bytes_inter"] = r.a2a_inter_node_bytes;
    line["memory_gib_per_gpu"] = r.memory.total_bytes() / (1024.0 * 1024 * 1024);
    line["fits_memory"] = r.fits_memory;
    json breakdown = json::object();
    for (const auto& [part, seconds] : r.breakdown_s) breakdown[part] = seconds;
    line["breakdown_s"] = breakdown;
  } catch (const InputError& e) {
    line["error"] = e.what();
  } catch (const ResourceLimit& e) {
    line["error"] = std::string("limit: ") + e.what();
  } catch (const NotAvailable& e) {
    line["error"] = e.what();
  }
  return line;
}

// Points already in `path` (complete lines only); a torn last line is cut off. Lines written
// by another sweep are refused.
std::set<size_t> finished_points(const Sweep& s, const std::string& path) {
  std::set<size_t> done;
  std::ifstream in(path);
  if (!in) return done;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (complete < text.size()) std::filesystem::resize_file(path, complete);
  size_t start = 0, line_no = 0;
  for (size_t end; start < complete && (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    ++line_no;
    const std::string line = text.substr(start, end - start);
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("point") || !j.at("point").is_number_unsigned() ||
        j.at("point").get<size_t>() >= s.points() || j.value("overrides", json()) != s.overrides(j.at("point").get<size_t>()))
      throw InputError(path + ":" + std::to_string(line_no) + ": not a line of this sweep (" + s.source +
                       "); write to another file or remove it");
    done.insert(j.at("point").get<size_t>());
  }
  return done;
}

// One write per line with O_APPEND: lines of concurrent workers never interleave.
void append_line(const std::string& path, const json& line) {
  const std::string text = line.dump() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != ssize_t(text.size())) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(path + ": cannot append a line");
  }
  ::close(fd);
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// Runs the `pending` points on `jobs` forked workers (striped), appending to `path`; shows progress.
void run_points(const Sweep& s, const std::vector<size_t>& pending, int jobs, const std::string& path) {
  if (pending.empty()) return;
  jobs = std::min<int>(jobs, int(pending.size()));
  const size_t before = count_lines(path);
  std::vector<pid_t> workers;
  std::cout.flush();  // what is buffered is written once, not once per worker
  std::fflush(nullptr);
  for (int w = 0; w < jobs; ++w) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("sweep: cannot start a worker process");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a killed sweep takes its workers with it
      int status = 0;
      try {
        for (size_t i = w; i < pending.size(); i += jobs) append_line(path, run_point(s, pending[i]));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "moesim sweep: worker %d: %s\n", w, e.what());
        status = 4;
      }
      std::fflush(stderr);
      _exit(status);
    }
    workers.push_back(pid);
  }
  ProgressLine progress("sweep", double(pending.size()));
  int failed = 0;
  for (size_t running = workers.size(); running > 0;) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, ProgressLine::enabled() ? WNOHANG : 0);
    if (pid > 0) {
      --running;
      failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    } else {
      progress.update(double(count_lines(path) - before));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  progress.finish();
  if (failed) throw std::runtime_error("sweep: " + std::to_string(failed) + " worker(s) failed; rerun to resume");
}

// Open MPI tells each rank who it is; no MPI library is needed to take a shard.
std::pair<int, int> mpi_rank_and_size() {
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!rank || !size) return {0, 1};
  return {std::atoi(rank), std::max(1, std::atoi(size))};
}

// Rank 0 waits for every other rank's part file (FILE.jsonl.rank-R, complete when
// FILE.jsonl.rank-R.done exists) and moves their new lines into FILE.jsonl.
void gather_ranks(const Sweep& s, const std::string& out, int size) {
  ProgressLine progress("sweep: waiting for ranks", double(size - 1));
  for (int r = 1; r < size; ++r) {
    const std::string part = out + ".rank-" + std::to_string(r);
    while (!std::filesystem::exists(part + ".done")) {
      progress.update(r - 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::set<size_t> have = finished_points(s, out);
    std::ifstream in(part);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const json j = json::parse(line);
      if (have.insert(j.at("point").get<size_t>()).second) append_line(out, j);
    }
    in.close();
    std::filesystem::remove(part);
    std::filesystem::remove(part + ".done");
  }
  progress.finish();
}

}  // namespace

int sweep_command(const std::vector<std::string>& args, std::ostream& out) {
  Args a = parse_args(args);
  const Sweep sweep = read_sweep(a.sweep);
  const auto [rank, size] = mpi_rank_and_size();
  // Under mpirun the ranks split the (shard of the) grid once more.
  const int shard = a.shard * size + rank, shards = a.shards * size;
  const std::string file = rank == 0 ? a.out : a.out + ".rank-" + std::to_string(rank);
  if (rank != 0) std::filesystem::remove(file + ".done");
  std::set<size_t> done = finished_points(sweep, a.out);
  if (rank != 0)
    for (size_t p : finished_points(sweep, file)) done.insert(p);
  std::vector<size_t> pending;
  size_t mine = 0;
  for (size_t i = shard; i < sweep.points(); i += shards) {
    ++mine;
    if (!done.count(i)) pending.push_back(i);
  }
  if (rank == 0)
    out << sweep.source << ": " << sweep.points() << " points; this " << (size > 1 ? "rank" : "run") << " takes " << mine
        << ", " << (mine - pending.size()) << " already in " << a.out << "\n";
  run_points(sweep, pending, a.jobs, file);
  if (rank != 0) {
    std::ofstream(file + ".done") << "done\n";
    return 0;
  }
  if (size > 1) gather_ranks(sweep, a.out, size);
  out << "wrote " << a.out << " (" << count_lines(a.out) << " lines)\n";
  return 0;
}

}  // namespace moesim
