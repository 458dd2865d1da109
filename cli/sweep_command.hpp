#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "cli/usage.hpp"

namespace moesim {

extern const char* const SWEEP_USAGE;

// `moesim sweep SWEEP.json [--jobs N] [--shard I/N] --out FILE.jsonl`: a grid of scenario
// overrides, one JSON line per point (see the README's "Sweeps"). Lines are appended as
// points finish, so a killed sweep resumes where it stopped; --shard takes every N-th point
// from I (0-based); under mpirun each rank takes its own shard and rank 0 gathers the lines.
int sweep_command(const std::vector<std::string>& args, std::ostream& out);

}  // namespace moesim
