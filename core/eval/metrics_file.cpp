#include "eval/metrics_file.h"

#include <rapidjson/writer.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/run_folder.h"
#include "data/json_diagnose.h"

// The metrics JSON is written by the CLI and the trainer and read back by the Results page and
// export-table, possibly from runs made by an older build: readers take what is there and leave
// the rest empty, but a value of the wrong type is an error naming the file and the key.

namespace studio {
namespace fs = std::filesystem;

CocoMetrics make_coco_metrics(const CocoEvalResult& result, const Dataset& gt,
                              const std::vector<Detection>& dt) {
  CocoMetrics m;
  m.stats = result.stats;
  m.per_category = per_category_table(result, gt);
  m.pr_curves = pr_curves(result);
  m.confusion = confusion_matrix(gt, dt, result.type);
  return m;
}

// ---- writing ----------------------------------------------------------------------------------

namespace {

struct StringSink {
  using Ch = char;
  std::string out;
  void Put(char c) { out.push_back(c); }
  void Flush() {}
};
using JsonWriter = rapidjson::Writer<StringSink>;

const char* kRowKeys[] = {"AP", "AP50", "AP75", "APs", "APm", "APl", "AR100"};

// Non-finite values can't be JSON numbers; they only arise as "undefined", which is -1 here.
void number(JsonWriter& w, double d) { w.Double(std::isfinite(d) ? d : -1.0); }

void numbers(JsonWriter& w, const std::vector<double>& v) {
  w.StartArray();
  for (double d : v) number(w, d);
  w.EndArray();
}

void string(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_coco(JsonWriter& w, const CocoMetrics& m) {
  w.StartObject();
  w.Key("stats");
  w.StartObject();
  for (std::size_t i = 0; i < 12; ++i) {
    w.Key(summary_names()[i]);
    number(w, m.stats[i]);
  }
  w.EndObject();
  w.Key("per_category");
  w.StartArray();
  for (const CategoryRow& r : m.per_category) {
    w.StartObject();
    w.Key("category_id");
    w.Int64(r.category_id);
    w.Key("name");
    string(w, r.name);
    w.Key("gt_count");
    w.Uint64(r.gt_count);
    const double values[] = {r.ap, r.ap50, r.ap75, r.ap_small, r.ap_medium, r.ap_large, r.ar100};
    for (std::size_t i = 0; i < 7; ++i) {
      w.Key(kRowKeys[i]);
      number(w, values[i]);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("pr_curves");
  w.StartArray();
  for (const PrCurve& c : m.pr_curves) {
    w.StartObject();
    w.Key("category_id");
    w.Int64(c.category_id);
    w.Key("iou");
    number(w, c.iou);
    w.Key("recall");
    numbers(w, c.recall);
    w.Key("precision");
    numbers(w, c.precision);
    w.EndObject();
  }
  w.EndArray();
  if (m.confusion) {
    const ConfusionMatrix& cm = *m.confusion;
    w.Key("confusion");
    w.StartObject();
    w.Key("category_ids");
    w.StartArray();
    for (auto id : cm.category_ids) w.Int64(id);
    w.EndArray();
    w.Key("names");
    w.StartArray();
    for (const auto& n : cm.names) string(w, n);
    w.EndArray();
    w.Key("counts");
    w.StartArray();
    for (std::size_t r = 0; r <= cm.names.size(); ++r) {
      w.StartArray();
      for (std::size_t c = 0; c <= cm.names.size(); ++c) w.Uint64(cm.at(r, c));
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
}

void write_voc(JsonWriter& w, const VocEvalResult& v) {
  w.StartObject();
  w.Key("method");
  w.String(v.method == VocApMethod::Points11 ? "11point" : "area");
  w.Key("iou_threshold");
  number(w, v.iou_threshold);
  w.Key("map");
  number(w, v.map);
  w.Key("classes");
  w.StartArray();
  for (const VocClassAp& c : v.classes) {
    w.StartObject();
    w.Key("category_id");
    w.Int64(c.category_id);
    w.Key("name");
    string(w, c.name);
    w.Key("gt_count");
    w.Uint64(c.gt_count);
    w.Key("detections");
    w.Uint64(c.detections);
    w.Key("ap");
    number(w, c.ap);
    w.Key("recall");
    numbers(w, c.recall);
    w.Key("precision");
    numbers(w, c.precision);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

std::string metrics_to_json(const MetricsFile& metrics) {
  StringSink sink;
  JsonWriter w(sink);
  w.StartObject();
  w.Key("meta");
  w.StartObject();
  w.Key("model");
  string(w, metrics.meta.model);
  w.Key("dataset");
  string(w, metrics.meta.dataset);
  w.Key("devices");
  w.Int(metrics.meta.devices);
  w.Key("epochs");
  w.Int(metrics.meta.epochs);
  w.Key("images_per_s");
  number(w, metrics.meta.images_per_s);
  w.EndObject();
  if (metrics.bbox) {
    w.Key("bbox");
    write_coco(w, *metrics.bbox);
  }
  if (metrics.segm) {
    w.Key("segm");
    write_coco(w, *metrics.segm);
  }
  if (metrics.voc) {
    w.Key("voc");
    write_voc(w, *metrics.voc);
  }
  w.EndObject();
  sink.out += '\n';
  return std::move(sink.out);
}

// ---- reading ----------------------------------------------------------------------------------

namespace {

namespace dom = simdjson::dom;

class MetricsReader {
 public:
  explicit MetricsReader(std::string file) : file_(std::move(file)) {}

  MetricsFile read() {
    simdjson::padded_string json;
    if (auto e = simdjson::padded_string::load(file_).get(json))
      throw Error(file_ + ": cannot read the file (" + simdjson::error_message(e) + ")");
    dom::element root;
    if (auto e = parser_.parse(json).get(root)) {
      if (const auto p = diagnose_json(std::string_view(json.data(), json.size())))
        throw Error(file_ + ":" + std::to_string(p->line) + ": " + p->message());
      throw Error(file_ + ": malformed JSON (" + simdjson::error_message(e) + ")");
    }
    const dom::object obj = object(root, "(top level)");
    MetricsFile m;
    m.source = file_;
    if (auto meta = field(obj, "meta")) {
      const dom::object o = object(*meta, "meta");
      if (auto v = field(o, "model")) m.meta.model = str(*v, "meta.model");
      if (auto v = field(o, "dataset")) m.meta.dataset = str(*v, "meta.dataset");
      if (auto v = field(o, "devices")) m.meta.devices = static_cast<int>(integer(*v, "meta.devices"));
      if (auto v = field(o, "epochs")) m.meta.epochs = static_cast<int>(integer(*v, "meta.epochs"));
      if (auto v = field(o, "images_per_s")) m.meta.images_per_s = num(*v, "meta.images_per_s");
    }
    if (auto v = field(obj, "bbox")) m.bbox = coco(*v, "bbox");
    if (auto v = field(obj, "segm")) m.segm = coco(*v, "segm");
    if (auto v = field(obj, "voc")) m.voc = voc(*v, "voc");
    if (!m.bbox && !m.segm && !m.voc)
      fail("(top level)",
           "not a metrics file: none of \"bbox\", \"segm\" or \"voc\" is in it (expected what `studio-cli eval "
           "--json` or a training run's eval/metrics_<k>.json holds)");
    return m;
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(file_ + ": " + key + ": " + what);
  }

  static std::optional<dom::element> field(const dom::object& o, std::string_view key) {
    dom::element e;
    if (o.at_key(key).get(e)) return std::nullopt;
    return e;
  }
  dom::object object(const dom::element& e, const std::string& key) const {
    dom::object o;
    if (e.get_object().get(o)) fail(key, "expected an object");
    return o;
  }
  dom::array array(const dom::element& e, const std::string& key) const {
    dom::array a;
    if (e.get_array().get(a)) fail(key, "expected an array");
    return a;
  }
  double num(const dom::element& e, const std::string& key) const {
    double d;
    if (e.get_double().get(d)) fail(key, "expected a number");
    return d;
  }
  std::int64_t integer(const dom::element& e, const std::string& key) const {
    std::int64_t i;
    if (e.get_int64().get(i)) fail(key, "expected an integer");
    return i;
  }
  std::string str(const dom::element& e, const std::string& key) const {
    std::string_view s;
    if (e.get_string().get(s)) fail(key, "expected a string");
    return std::string(s);
  }
  std::vector<double> nums(const dom::element& e, const std::string& key) const {
    std::vector<double> out;
    std::size_t i = 0;
    for (dom::element x : array(e, key)) out.push_back(num(x, key + "[" + std::to_string(i++) + "]"));
    return out;
  }

  CocoMetrics coco(const dom::element& e, const std::string& key) const {
    const dom::object o = object(e, key);
    CocoMetrics m;
    m.stats.fill(-1);
    if (auto s = field(o, "stats")) {
      const dom::object so = object(*s, key + ".stats");
      for (std::size_t i = 0; i < 12; ++i)
        if (auto v = field(so, summary_names()[i]))
          m.stats[i] = num(*v, key + ".stats." + summary_names()[i]);
    }
    if (auto pc = field(o, "per_category")) {
      std::size_t i = 0;
      for (dom::element x : array(*pc, key + ".per_category")) {
        const std::string k = key + ".per_category[" + std::to_string(i++) + "]";
        const dom::object ro = object(x, k);
        CategoryRow r;
        if (auto v = field(ro, "category_id")) r.category_id = integer(*v, k + ".category_id");
        if (auto v = field(ro, "name")) r.name = str(*v, k + ".name");
        if (auto v = field(ro, "gt_count"))
          r.gt_count = static_cast<std::size_t>(integer(*v, k + ".gt_count"));
        double* values[] = {&r.ap, &r.ap50, &r.ap75, &r.ap_small, &r.ap_medium, &r.ap_large, &r.ar100};
        for (std::size_t j = 0; j < 7; ++j)
          if (auto v = field(ro, kRowKeys[j])) *values[j] = num(*v, k + "." + kRowKeys[j]);
        m.per_category.push_back(std::move(r));
      }
    }
    if (auto curves = field(o, "pr_curves")) {
      std::size_t i = 0;
      for (dom::element x : array(*curves, key + ".pr_curves")) {
        const std::string k = key + ".pr_curves[" + std::to_string(i++) + "]";
        const dom::object co = object(x, k);
        PrCurve c;
        if (auto v = field(co, "category_id")) c.category_id = integer(*v, k + ".category_id");
        if (auto v = field(co, "iou")) c.iou = num(*v, k + ".iou");
        if (auto v = field(co, "recall")) c.recall = nums(*v, k + ".recall");
        if (auto v = field(co, "precision")) c.precision = nums(*v, k + ".precision");
        if (c.recall.size() != c.precision.size())
          fail(k, "expected as many precision values as recall values");
        m.pr_curves.push_back(std::move(c));
      }
    }
    if (auto conf = field(o, "confusion")) {
      const std::string k = key + ".confusion";
      const dom::object co = object(*conf, k);
      ConfusionMatrix cm;
      if (auto v = field(co, "category_ids"))
        for (dom::element x : array(*v, k + ".category_ids"))
          cm.category_ids.push_back(integer(x, k + ".category_ids"));
      if (auto v = field(co, "names"))
        for (dom::element x : array(*v, k + ".names")) cm.names.push_back(str(x, k + ".names"));
      const std::size_t n = cm.names.size() + 1;
      if (auto v = field(co, "counts")) {
        std::size_t r = 0;
        for (dom::element row : array(*v, k + ".counts")) {
          const std::string rk = k + ".counts[" + std::to_string(r++) + "]";
          std::size_t c = 0;
          for (dom::element x : array(row, rk)) {
            cm.counts.push_back(static_cast<std::size_t>(integer(x, rk)));
            ++c;
          }
          if (c != n) fail(rk, "expected " + std::to_string(n) + " counts (classes + background)");
        }
      }
      if (cm.counts.size() != n * n)
        fail(k + ".counts", "expected " + std::to_string(n) + " rows (classes + background)");
      m.confusion = std::move(cm);
    }
    return m;
  }

  VocEvalResult voc(const dom::element& e, const std::string& key) const {
    const dom::object o = object(e, key);
    VocEvalResult r;
    if (auto v = field(o, "method")) {
      const std::string method = str(*v, key + ".method");
      if (method == "11point")
        r.method = VocApMethod::Points11;
      else if (method == "area")
        r.method = VocApMethod::Area;
      else
        fail(key + ".method", "expected \"11point\" or \"area\", got \"" + method + "\"");
    }
    if (auto v = field(o, "iou_threshold")) r.iou_threshold = num(*v, key + ".iou_threshold");
    if (auto v = field(o, "map")) r.map = num(*v, key + ".map");
    if (auto classes = field(o, "classes")) {
      std::size_t i = 0;
      for (dom::element x : array(*classes, key + ".classes")) {
        const std::string k = key + ".classes[" + std::to_string(i++) + "]";
        const dom::object co = object(x, k);
        VocClassAp c;
        if (auto v = field(co, "category_id")) c.category_id = integer(*v, k + ".category_id");
        if (auto v = field(co, "name")) c.name = str(*v, k + ".name");
        if (auto v = field(co, "gt_count"))
          c.gt_count = static_cast<std::size_t>(integer(*v, k + ".gt_count"));
        if (auto v = field(co, "detections"))
          c.detections = static_cast<std::size_t>(integer(*v, k + ".detections"));
        if (auto v = field(co, "ap")) c.ap = num(*v, k + ".ap");
        if (auto v = field(co, "recall")) c.recall = nums(*v, k + ".recall");
        if (auto v = field(co, "precision")) c.precision = nums(*v, k + ".precision");
        r.classes.push_back(std::move(c));
      }
    }
    return r;
  }

  std::string file_;
  mutable dom::parser parser_;
};

// The newest eval/metrics_<k>.json of a run folder (highest k, compared as a number).
std::string latest_metrics(const fs::path& run) {
  std::string path = RunFolder{run.string()}.latest_metrics();
  if (path.empty())
    throw Error(run.string() + ": no eval/metrics_<k>.json in this run folder (not evaluated yet?)");
  return path;
}

// Meta a metrics file may lack, from the run's resolved config. Best effort: a run written by
// another version may name things differently, and a table with a "-" beats no table.
void fill_meta_from_config(const fs::path& run, RunMeta& meta) {
  const fs::path config = RunFolder{run.string()}.config();
  std::error_code ec;
  if (!fs::is_regular_file(config, ec)) return;
  try {
    const YAML::Node root = YAML::LoadFile(config.string());
    auto scalar = [](const YAML::Node& n) -> std::string {
      return n && n.IsScalar() ? n.as<std::string>() : "";
    };
    if (meta.model.empty() && root["model"]) {
      const YAML::Node model = root["model"];
      meta.model = model.IsMap() ? scalar(model["name"]) : scalar(model);
    }
    if (meta.dataset.empty() && root["dataset"]) {
      const YAML::Node ds = root["dataset"];
      meta.dataset = ds.IsMap() ? scalar(ds["name"]) : scalar(ds);
    }
    if (meta.epochs <= 0 && root["train"] && root["train"].IsMap() && root["train"]["epochs"])
      meta.epochs = root["train"]["epochs"].as<int>();
    if (meta.devices <= 0 && root["devices"] && root["devices"].IsScalar())
      meta.devices = root["devices"].as<int>();
  } catch (const YAML::Exception&) {
    // A config that doesn't parse leaves the meta as the metrics file had it.
  }
}

// Mean training throughput over the run's "train" events.
void fill_throughput_from_events(const fs::path& run, RunMeta& meta) {
  if (meta.images_per_s >= 0) return;
  std::ifstream in(RunFolder{run.string()}.events());
  if (!in) return;
  dom::parser parser;
  double sum = 0;
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    dom::element e;
    if (parser.parse(line).get(e)) continue;  // a line being written while we read
    std::string_view type;
    double ips;
    if (e[event_field::kType].get_string().get(type) || type != event_type::kTrain) continue;
    if (e["images_per_s"].get_double().get(ips) || !std::isfinite(ips)) continue;
    sum += ips;
    ++n;
  }
  if (n) meta.images_per_s = sum / static_cast<double>(n);
}

}  // namespace

MetricsFile read_metrics(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    MetricsFile m = MetricsReader(latest_metrics(path)).read();
    fill_meta_from_config(path, m.meta);
    fill_throughput_from_events(path, m.meta);
    return m;
  }
  if (!fs::exists(path, ec)) throw Error(path + ": no such metrics file or run folder");
  return MetricsReader(path).read();
}

// ---- tables across runs ------------------------------------------------------------------------

TableFormat parse_table_format(const std::string& s) {
  if (s == "csv") return TableFormat::Csv;
  if (s == "md" || s == "markdown") return TableFormat::Markdown;
  if (s == "tex" || s == "latex") return TableFormat::Latex;
  if (s == "json") return TableFormat::Json;
  throw Error("unknown table format \"" + s + "\" (allowed: csv, md, tex, json)");
}

namespace {

// The name a run goes by in a table: runs/<name>/eval/metrics_<k>.json -> <name>, else the file's stem.
std::string run_name(const std::string& source) {
  const fs::path p(source);
  if (p.parent_path().filename() == kEvalDirName && !p.parent_path().parent_path().filename().empty())
    return p.parent_path().parent_path().filename().string();
  return p.stem().string();
}

std::string percent(double v) {
  if (!(v >= 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v * 100);
  return buf;
}

// The detail columns (AP50 .. APl) are the mask numbers when any run has them, else the box
// numbers: one kind for the whole column, named in its header ("mask AP50"); a run without that
// kind shows "-" there.
std::vector<std::vector<std::string>> table_rows(const std::vector<MetricsFile>& runs, bool& voc_column,
                                                 std::string& detail_kind) {
  voc_column = false;
  const bool masks = std::any_of(runs.begin(), runs.end(), [](const MetricsFile& m) { return m.segm.has_value(); });
  const bool boxes = std::any_of(runs.begin(), runs.end(), [](const MetricsFile& m) { return m.bbox.has_value(); });
  detail_kind = masks ? "mask" : boxes ? "box" : "";
  std::vector<std::vector<std::string>> rows;
  for (const MetricsFile& m : runs) {
    auto text = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    auto count = [](int n) { return n > 0 ? std::to_string(n) : std::string("-"); };
    std::string ips = "-";
    if (m.meta.images_per_s >= 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", m.meta.images_per_s);
      ips = buf;
    }
    double box_ap = m.bbox ? m.bbox->stats[0] : -1;
    if (!m.bbox && m.voc) {
      box_ap = m.voc->map;
      voc_column = true;
    }
    const CocoMetrics* detail = masks ? (m.segm ? &*m.segm : nullptr) : (m.bbox ? &*m.bbox : nullptr);
    std::vector<std::string> row{text(run_name(m.source)), text(m.meta.model),
                                 text(m.meta.dataset),     count(m.meta.devices),
                                 count(m.meta.epochs),     ips,
                                 percent(box_ap),          percent(m.segm ? m.segm->stats[0] : -1)};
    for (std::size_t i = 1; i <= 5; ++i) row.push_back(percent(detail ? detail->stats[i] : -1));
    rows.push_back(std::move(row));
  }
  return rows;
}

constexpr std::size_t kTextColumns = 3;  // name, model, dataset; the rest are numbers

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

std::string tex_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\textbackslash{}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '&':
      case '%':
      case '$':
      case '#':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string export_table(const std::vector<MetricsFile>& runs, TableFormat format) {
  bool voc_column = false;
  std::string kind;
  const auto rows = table_rows(runs, voc_column, kind);
  const std::string k = kind.empty() ? "" : kind + " ";
  const std::vector<std::string> header{"name",
                                        "model",
                                        "dataset",
                                        "devices",
                                        "epochs",
                                        "images/s",
                                        voc_column ? "box AP / VOC mAP" : "box AP",
                                        "mask AP",
                                        k + "AP50",
                                        k + "AP75",
                                        k + "APs",
                                        k + "APm",
                                        k + "APl"};
  std::string out;
  auto join = [&](const std::vector<std::string>& cells, std::string (*cell)(const std::string&),
                  const char* sep, const char* begin, const char* end) {
    out += begin;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) out += sep;
      out += cell(cells[i]);
    }
    out += end;
  };
  switch (format) {
    case TableFormat::Csv:
      join(header, csv_field, ",", "", "\n");
      for (const auto& r : rows) join(r, csv_field, ",", "", "\n");
      break;
    case TableFormat::Markdown: {
      join(header, md_cell, " | ", "| ", " |\n");
      out += "|";
      for (std::size_t i = 0; i < header.size(); ++i) out += i < kTextColumns ? " --- |" : " ---: |";
      out += "\n";
      for (const auto& r : rows) join(r, md_cell, " | ", "| ", " |\n");
      break;
    }
    case TableFormat::Latex: {
      out += "\\begin{tabular}{" + std::string(kTextColumns, 'l') +
             std::string(header.size() - kTextColumns, 'r') + "}\n\\toprule\n";
      join(header, tex_cell, " & ", "", " \\\\\n");
      out += "\\midrule\n";
      for (const auto& r : rows) join(r, tex_cell, " & ", "", " \\\\\n");
      out += "\\bottomrule\n\\end{tabular}\n";
      break;
    }
    case TableFormat::Json: {
      // Same cells as the other formats, numbers as JSON numbers and "-" as null.
      const char* keys[] = {"name",    "model", "dataset", "devices", "epochs", "images_per_s", "box_ap",
                            "mask_ap", "ap50",  "ap75",    "ap_s",    "ap_m",   "ap_l"};
      StringSink sink;
      JsonWriter w(sink);
      w.StartArray();
      for (const auto& r : rows) {
        w.StartObject();
        for (std::size_t i = 0; i < r.size(); ++i) {
          w.Key(keys[i]);
          if (r[i] == "-")
            w.Null();
          else if (i < kTextColumns)
            string(w, r[i]);
          else
            w.RawValue(r[i].data(), r[i].size(), rapidjson::kNumberType);
        }
        w.EndObject();
      }
      w.EndArray();
      out = std::move(sink.out) + "\n";
      break;
    }
  }
  return out;
}

}  // namespace studio
