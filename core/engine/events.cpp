#include "engine/events.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include <fstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/atomic_file.h"
#include "common/error.h"

namespace studio {

namespace fs = std::filesystem;

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void number(JsonWriter& w, double v) {
  if (std::isfinite(v))
    w.Double(v);
  else
    w.Null();
}

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::FILE* open_append(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw Error(path + ": cannot open for writing");
  return f;
}

}  // namespace

std::string event_to_json(const Event& e, double unix_time) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key(event_field::kType);
  w.String(e.type.c_str(), static_cast<rapidjson::SizeType>(e.type.size()));
  w.Key(event_field::kTime);
  w.Double(unix_time);
  w.Key(event_field::kEpoch);
  w.Int(e.epoch);
  w.Key(event_field::kIter);
  w.Int64(e.iter);
  for (const auto& [k, v] : e.numbers) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    number(w, v);
  }
  for (const auto& [k, v] : e.texts) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  for (const auto& [k, group] : e.groups) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.StartObject();
    for (const auto& [gk, gv] : group) {
      w.Key(gk.c_str(), static_cast<rapidjson::SizeType>(gk.size()));
      number(w, gv);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::size_t truncate_events(const std::string& run_dir, std::int64_t last_iter) {
  const RunFolder run{run_dir};
  const std::string path = run.events();
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read");
  std::string kept, moved, line;
  std::size_t count = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    const bool keep = !d.HasParseError() && d.IsObject() && d.HasMember(event_field::kIter) &&
                      d[event_field::kIter].IsInt64() && d[event_field::kIter].GetInt64() <= last_iter;
    (keep ? kept : moved) += line + "\n";
    if (!keep) ++count;
  }
  in.close();
  if (count == 0) return 0;
  const std::string discarded = run.discarded_events();
  std::FILE* f = open_append(discarded);
  const bool ok = std::fwrite(moved.data(), 1, moved.size(), f) == moved.size();
  std::fclose(f);
  if (!ok) throw Error(discarded + ": cannot write");
  write_file_atomic(path, kept);
  return count;
}

RunLog::RunLog(std::string run_dir, bool enabled) : folder_{std::move(run_dir)}, enabled_(enabled) {
  if (!enabled_) return;
  std::error_code ec;
  for (const std::string& d : {folder_.dir, checkpoints_dir(), eval_dir()}) {
    fs::create_directories(d, ec);
    if (!fs::is_directory(d)) throw Error(d + ": cannot create the run folder (" + ec.message() + ")");
  }
  events_ = open_append(folder_.events());
  log_ = open_append(folder_.log());
}

RunLog::~RunLog() {
  if (events_) std::fclose(events_);
  if (log_) std::fclose(log_);
}

void RunLog::write_config(const Config& config) {
  if (!enabled_) return;
  write_file_atomic(folder_.config(), config.to_yaml());
}

void RunLog::event(const Event& event) {
  if (!enabled_) return;
  const std::string line = event_to_json(event, unix_now()) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), events_);
  std::fflush(events_);
}

void RunLog::log(const std::string& line) {
  if (!enabled_) return;
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "[%Y-%m-%d %H:%M:%S] ", &tm);
  std::lock_guard<std::mutex> lock(mutex_);
  std::fputs(stamp, log_);
  std::fputs(line.c_str(), log_);
  std::fputc('\n', log_);
  std::fflush(log_);
}

}  // namespace studio
