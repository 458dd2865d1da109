#pragma once
#include <cstdio>
#include <string>

#include "sim/estimator.hpp"

namespace moesim {

// How the simulation process hands its observations to its parent: a flat binary record
// (same machine, same build, so native byte order and sizes).
void write_engine_run(std::FILE* out, const EngineRun& run);
EngineRun read_engine_run(const std::string& bytes);

}  // namespace moesim
