#include "common/flags.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace llm2vec {

FlagSet::FlagSet(std::string command, std::string summary, std::string env_prefix)
    : command_(std::move(command)), summary_(std::move(summary)),
      env_prefix_(std::move(env_prefix)) {}

FlagSet::Flag FlagSet::MakeFlag(const std::string& name, const std::string& metavar,
                                const std::string& help, const std::string& default_text) {
  Flag f;
  f.name = name;
  f.metavar = metavar;
  f.help = help;
  f.default_text = default_text;
  return f;
}

void FlagSet::Add(Flag flag) { flags_.push_back(std::move(flag)); }

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void FlagSet::String(const std::string& name, std::string* out, const std::string& metavar,
                     const std::string& help, bool required) {
  Flag f = MakeFlag(name, metavar, help, out->empty() ? "" : *out);
  f.required = required;
  f.assign = [out](const std::string& v) {
    *out = v;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Int(const std::string& name, int64_t* out, const std::string& metavar,
                  const std::string& help, int64_t min, int64_t max) {
  Flag f = MakeFlag(name, metavar, help, absl::StrCat(*out));
  f.assign = [name, out, min, max](const std::string& v) {
    int64_t x = 0;
    if (!absl::SimpleAtoi(v, &x)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", v, "' is not an integer"));
    }
    if (x < min || x > max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, ": ", x, " is out of range [", min, ", ",
          max == INT64_MAX ? std::string("inf") : absl::StrCat(max), "]"));
    }
    *out = x;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

std::string BytesText(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double x = static_cast<double>(bytes);
  int unit = 0;
  while (std::fabs(x) >= 1024 && unit < 6) {
    x /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  char text[32];
  std::snprintf(text, sizeof(text), x < 10 ? "%.2f %s" : x < 100 ? "%.1f %s" : "%.0f %s", x,
                kUnits[unit]);
  return text;
}

absl::Status ParseBytes(const std::string& text, int64_t* out) {
  const auto bad = [&text] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a size (bytes, or a number with K, M, G or T)"));
  };
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) ||
                               text[end] == '.')) {
    ++end;
  }
  double number = 0;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), &number)) return bad();
  std::string unit = text.substr(end);
  if (unit.size() == 3 && unit.compare(1, 2, "iB") == 0) unit.resize(1);
  double scale = 1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "K" || unit == "k") {
    scale = 1024.0;
  } else if (unit == "M") {
    scale = 1024.0 * 1024;
  } else if (unit == "G") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "T") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return bad();
  }
  const double bytes = std::ceil(number * scale);
  if (!(bytes < 9.2e18)) return bad();
  *out = static_cast<int64_t>(bytes);
  return absl::OkStatus();
}

void FlagSet::Bytes(const std::string& name, int64_t* out, const std::string& help,
                    int64_t min) {
  Flag f = MakeFlag(name, "BYTES", help, *out == 0 ? std::string("0") : BytesText(*out));
  f.assign = [name, out, min](const std::string& v) {
    int64_t x = 0;
    if (auto s = ParseBytes(v, &x); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", s.message()));
    }
    if (x < min) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": ", v, " is below the least allowed, ", BytesText(min)));
    }
    *out = x;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Double(const std::string& name, double* out, const std::string& metavar,
                     const std::string& help) {
  Flag f = MakeFlag(name, metavar, help, absl::StrCat(*out));
  f.assign = [name, out](const std::string& v) {
    double x = 0;
    if (!absl::SimpleAtod(v, &x)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": '", v, "' is not a number"));
    }
    *out = x;
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Bool(const std::string& name, bool* out, const std::string& help) {
  Flag f = MakeFlag(name, "", help, *out ? "true" : "");
  f.assign = [name, out](const std::string& v) {
    const std::string l = absl::AsciiStrToLower(v);
    if (l.empty() || l == "1" || l == "true" || l == "yes") {
      *out = true;
    } else if (l == "0" || l == "false" || l == "no") {
      *out = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": '", v, "' is not true or false"));
    }
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::List(const std::string& name, std::vector<std::string>* out,
                   const std::string& metavar, const std::string& help) {
  Flag f = MakeFlag(name, metavar, help, "");
  f.repeatable = true;
  f.assign = [out](const std::string& v) {
    out->push_back(v);
    return absl::OkStatus();
  };
  Add(std::move(f));
}

void FlagSet::Choices(const std::string& name, std::vector<std::string> choices) {
  if (Flag* f = Find(name)) f->choices = std::move(choices);
}

bool FlagSet::IsSet(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

absl::Status FlagSet::Parse(int argc, char** argv, int first) {
  auto assign = [](Flag* f, const std::string& value) -> absl::Status {
    if (!f->choices.empty() &&
        std::find(f->choices.begin(), f->choices.end(), value) == f->choices.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--", f->name, ": '", value,
                                                     "' is not one of ",
                                                     absl::StrJoin(f->choices, ", ")));
    }
    if (auto s = f->assign(value); !s.ok()) return s;
    f->set = true;
    return absl::OkStatus();
  };
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (flags start with --; see --help)"));
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Flag* f = Find(name);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " for ", command_, " (see --help)"));
    }
    if (!has_value && !f->metavar.empty()) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", f->metavar, ")"));
      }
      value = argv[++i];
    }
    if (auto s = assign(f, value); !s.ok()) return s;
  }
  // Environment fallback for flags not given on the command line.
  if (!env_prefix_.empty()) {
    for (Flag& f : flags_) {
      if (f.set || f.repeatable) continue;
      std::string env = env_prefix_ + absl::AsciiStrToUpper(absl::StrReplaceAll(f.name, {{"-", "_"}}));
      const char* v = std::getenv(env.c_str());
      if (v == nullptr || *v == '\0') continue;
      if (auto s = assign(&f, v); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("$", env, ": ", s.message()));
      }
    }
  }
  for (const Flag& f : flags_) {
    if (f.required && !f.set) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", f.name, " is required (", f.metavar, "); see --help"));
    }
  }
  return absl::OkStatus();
}

std::string FlagSet::Help() const {
  std::ostringstream out;
  out << "Usage: " << command_ << " [flags]\n\n" << summary_ << "\n\nFlags:\n";
  for (const Flag& f : flags_) {
    std::string head = "  --" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    out << head;
    out << std::string(head.size() < 34 ? 34 - head.size() : 1, ' ') << f.help;
    if (!f.choices.empty()) out << " (" << absl::StrJoin(f.choices, "|") << ")";
    if (f.required) out << " [required]";
    if (!f.default_text.empty() && !f.metavar.empty()) out << " [default: " << f.default_text << "]";
    if (f.repeatable) out << " [repeatable]";
    out << "\n";
  }
  if (!env_prefix_.empty()) {
    out << "\nEvery flag can also be set from the environment: --max-tokens reads $"
        << env_prefix_ << "MAX_TOKENS.\n";
  }
  out << "  --help                          this text\n";
  return out.str();
}

}  // namespace llm2vec
