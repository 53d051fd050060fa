// Graph algorithms over the steps of a workflow, by step name. Internal to
// radflow_workflow (used by validate.cpp). Edges point the way data flows:
// `downstream[a]` holds the steps that read an output of step a.
// Stateless free functions; deterministic (all ties broken by name).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace radflow {

// Every step must be a key, even one without edges.
using StepEdges = std::map<std::string, std::set<std::string>>;

// One cycle per strongly connected component that has one, ordered by the
// component's smallest step name. Each cycle starts and ends at that smallest
// name and follows data flow, shortest first: {"a", "b", "c", "a"}.
std::vector<std::vector<std::string>> find_step_cycles(const StepEdges& downstream);

// Kahn's algorithm; among ready steps the smallest name goes first.
// Preconditions: the graph is acyclic (find_step_cycles returned nothing).
std::vector<std::string> topological_step_order(const StepEdges& downstream);

}  // namespace radflow
