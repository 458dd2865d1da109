#pragma once
#include <functional>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "models/model.hpp"
#include "models/parallel_plan.hpp"
#include "models/params.hpp"

namespace moesim {

struct SimSpec;

// One scenario key of a fixed spec: declared once (type, bounds, help, unit) with how to
// store it into the spec and read it back (for the resolved scenario in result.json).
// JSON units are the key's suffix (_GBps, _us); the spec holds SI.
template <class Spec>
struct Field {
  ParamSpec spec;
  std::function<void(Spec&, const ParamValue&)> set;
  std::function<ParamValue(const Spec&)> get;
};

template <class Spec>
using FieldTable = std::vector<Field<Spec>>;

const FieldTable<ClusterSpec>& cluster_fields();
const FieldTable<ModelSpec>& model_fields();
const FieldTable<ParallelPlan>& plan_fields();
const FieldTable<SimSpec>& sim_fields();

}  // namespace moesim
