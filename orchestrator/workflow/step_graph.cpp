#include "orchestrator/workflow/step_graph.h"

#include <algorithm>
#include <deque>
#include <queue>

#include "common/check.h"

namespace radflow {
namespace {

// Adjacency by index; names are the sorted keys of StepEdges, so index order is
// name order and every traversal below is deterministic.
struct IndexedGraph {
  std::vector<std::string> names;
  std::vector<std::vector<int>> next;
};

IndexedGraph index_graph(const StepEdges& downstream) {
  IndexedGraph g;
  std::map<std::string, int> index;
  for (const auto& [name, unused] : downstream) {
    index[name] = static_cast<int>(g.names.size());
    g.names.push_back(name);
  }
  g.next.resize(g.names.size());
  for (const auto& [name, targets] : downstream) {
    for (const auto& target : targets) {
      auto it = index.find(target);
      RF_CHECK(it != index.end(), "edge to a step that is not a key: " + target);
      g.next[index[name]].push_back(it->second);
    }
  }
  return g;
}

// Tarjan's algorithm, iterative so that a long chain of steps cannot overflow
// the stack. Returns the component id of every node.
std::vector<int> strongly_connected(const IndexedGraph& g, int* count) {
  const int n = static_cast<int>(g.names.size());
  std::vector<int> order(n, -1), low(n, 0), component(n, -1);
  std::vector<bool> on_stack(n, false);
  std::vector<int> stack;
  std::vector<std::pair<int, size_t>> work;  // node, next edge to look at
  int counter = 0;
  *count = 0;
  for (int root = 0; root < n; ++root) {
    if (order[root] != -1) continue;
    work.push_back({root, 0});
    while (!work.empty()) {
      auto& [node, edge] = work.back();
      if (edge == 0 && order[node] == -1) {
        order[node] = low[node] = counter++;
        stack.push_back(node);
        on_stack[node] = true;
      }
      if (edge < g.next[node].size()) {
        int child = g.next[node][edge++];
        if (order[child] == -1) {
          work.push_back({child, 0});
        } else if (on_stack[child]) {
          low[node] = std::min(low[node], order[child]);
        }
        continue;
      }
      int done = node;
      work.pop_back();
      if (!work.empty()) low[work.back().first] = std::min(low[work.back().first], low[done]);
      if (low[done] == order[done]) {
        int member;
        do {
          member = stack.back();
          stack.pop_back();
          on_stack[member] = false;
          component[member] = *count;
        } while (member != done);
        ++*count;
      }
    }
  }
  return component;
}

// Shortest way from `start` back to itself inside its component (BFS).
std::vector<int> shortest_cycle(const IndexedGraph& g, const std::vector<int>& component,
                                int start) {
  std::vector<int> parent(g.names.size(), -1);
  std::deque<int> queue{start};
  std::vector<bool> seen(g.names.size(), false);
  while (!queue.empty()) {
    int node = queue.front();
    queue.pop_front();
    for (int child : g.next[node]) {
      if (component[child] != component[start]) continue;
      if (child == start) {
        std::vector<int> cycle{start};
        for (int at = node; at != start; at = parent[at]) cycle.push_back(at);
        cycle.push_back(start);
        std::reverse(cycle.begin(), cycle.end());
        return cycle;
      }
      if (seen[child]) continue;
      seen[child] = true;
      parent[child] = node;
      queue.push_back(child);
    }
  }
  RF_CHECK(false, "no cycle through " + g.names[start] + " in its own component");
  return {};
}

}  // namespace

std::vector<std::vector<std::string>> find_step_cycles(const StepEdges& downstream) {
  IndexedGraph g = index_graph(downstream);
  int count = 0;
  std::vector<int> component = strongly_connected(g, &count);
  std::vector<int> size(count, 0);
  for (int c : component) ++size[c];
  std::vector<bool> reported(count, false);
  std::vector<std::vector<std::string>> cycles;
  // Nodes in name order: the first node met of a component is its smallest.
  for (int node = 0; node < static_cast<int>(g.names.size()); ++node) {
    int c = component[node];
    if (reported[c]) continue;
    reported[c] = true;
    bool self_loop =
        std::find(g.next[node].begin(), g.next[node].end(), node) != g.next[node].end();
    if (size[c] == 1 && !self_loop) continue;
    std::vector<std::string> names;
    for (int at : shortest_cycle(g, component, node)) names.push_back(g.names[at]);
    cycles.push_back(std::move(names));
  }
  return cycles;
}

std::vector<std::string> topological_step_order(const StepEdges& downstream) {
  IndexedGraph g = index_graph(downstream);
  std::vector<int> pending(g.names.size(), 0);
  for (const auto& targets : g.next) {
    for (int t : targets) ++pending[t];
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < static_cast<int>(pending.size()); ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    int node = ready.top();
    ready.pop();
    order.push_back(g.names[node]);
    for (int t : g.next[node]) {
      if (--pending[t] == 0) ready.push(t);
    }
  }
  RF_CHECK(order.size() == g.names.size(), "topological_step_order on a cyclic graph");
  return order;
}

}  // namespace radflow
