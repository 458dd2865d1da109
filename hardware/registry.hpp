#pragma once
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace moesim {

// "a, b, c": names as one line of text.
inline std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// A named catalogue (GPU presets, cluster presets, model presets, router policies, ...).
// Adding an entry is one line where the entry is defined; lookups of an unknown name
// list the valid ones, as SimGrid's model registries do.
template <class Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::string description, Entry entry) {
    if (entries_.count(name)) throw std::logic_error(kind_ + " '" + name + "' registered twice");
    entries_.emplace(name, Item{std::move(description), std::move(entry)});
  }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second.entry;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, item] : entries_) out.push_back(name);
    return out;
  }
  std::string names_joined() const { return joined(names()); }
  const std::string& description(const std::string& name) const { return entries_.at(name).description; }
  const std::string& kind() const { return kind_; }

 private:
  struct Item {
    std::string description;
    Entry entry;
  };
  std::string kind_;
  std::map<std::string, Item> entries_;
};

}  // namespace moesim
