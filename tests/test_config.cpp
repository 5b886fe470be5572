// Recipes: base inheritance, overrides, typed access and the messages a user sees for a wrong
// key or value (file, line, dotted key, what is allowed); the shipped recipes resolve.
#include <QDir>
#include <QTemporaryDir>

#include <filesystem>
#include <QtTest>

#include "common/config.h"
#include "common/error.h"
#include "test_support.h"

using namespace studio;
using studio::test::write_text;

class TestConfig : public QObject {
  Q_OBJECT

 private slots:
  void base_and_overrides() {
    QTemporaryDir dir;
    write_text(dir, "base.yaml",
               "model:\n"
               "  type: solov2\n"
               "  head:\n"
               "    num_grids: [40, 36, 24, 16, 12]\n"
               "    sigma: 0.2\n"
               "train:\n"
               "  lr: 0.01\n"
               "  steps: [8, 11]\n");
    const std::string child = write_text(dir, "child.yaml",
                                         "base: base.yaml\n"
                                         "model:\n"
                                         "  head:\n"
                                         "    sigma: 0.3\n"
                                         "train:\n"
                                         "  steps: [27, 33]\n");
    Config c = Config::load(child, {"train.lr=0.005", "train.new_key=[1, 2]", "model.backbone.type=resnet18"});
    // Mappings merge key by key; lists and scalars replace.
    QCOMPARE(c.at("model").get_string("type"), std::string("solov2"));
    QCOMPARE(c.at("model.head").get_int_list("num_grids", {}), (std::vector<int>{40, 36, 24, 16, 12}));
    QCOMPARE(c.at("model.head").get_double("sigma"), 0.3);
    QCOMPARE(c.at("train").get_int_list("steps", {}), (std::vector<int>{27, 33}));
    QCOMPARE(c.at("train").get_double("lr"), 0.005);
    QCOMPARE(c.at("train").get_int_list("new_key", {}), (std::vector<int>{1, 2}));
    QCOMPARE(c.at("model.backbone").get_string("type"), std::string("resnet18"));
    // Origins: the file and 1-based line that set the value last.
    QVERIFY(test::contains(c.origin("model.head.sigma"), "child.yaml:4"));
    QVERIFY(test::contains(c.origin("model.head.num_grids"), "base.yaml:4"));
    QCOMPARE(c.origin("train.lr"), std::string("override"));
    // The resolved recipe has no base key and round-trips.
    const std::string yaml = c.to_yaml();
    QVERIFY(!test::contains(yaml, "base:"));
    Config again = Config::parse(yaml, "config.yaml");
    QCOMPARE(again.at("model.head").get_double("sigma"), 0.3);
    QCOMPARE(again.at("train").get_double("lr"), 0.005);
  }

  void typed_access_errors() {
    QTemporaryDir dir;
    const std::string path = write_text(dir, "r.yaml",
                                        "model:\n"
                                        "  head:\n"
                                        "    stacked_convs: four\n"
                                        "    num_grids: [40, x]\n"
                                        "    scale_ranges: [[1, 96], [48]]\n"
                                        "    kernel: box\n"
                                        "    typo_key: 1\n");
    Config c = Config::load(path);
    ConfigNode head = c.at("model.head");
    STUDIO_EXPECT_ERROR((void)head.get_int("stacked_convs"), "r.yaml:3", "model.head.stacked_convs",
                        "expected an integer", "'four'");
    STUDIO_EXPECT_ERROR((void)head.get_int_list("num_grids", {}), "r.yaml:4", "item 1");
    STUDIO_EXPECT_ERROR((void)head.get_pair_list({}, "scale_ranges"), "r.yaml:5", "pairs");
    STUDIO_EXPECT_ERROR((void)head.get_choice("kernel", {"gaussian", "linear"}, "gaussian"), "r.yaml:6",
                        "'box' is not one of: gaussian, linear");
    STUDIO_EXPECT_ERROR(head.allow({"stacked_convs", "num_grids", "scale_ranges", "kernel"}), "r.yaml:7",
                        "model.head.typo_key", "unknown key", "allowed here: stacked_convs");
    STUDIO_EXPECT_ERROR((void)head.get_double("absent"), "model.head.absent", "required key is missing");
    QCOMPARE(head.get_double("absent", 2.5), 2.5);
    QCOMPARE(c.at("model.nothing").get_int("x", 7), 7);  // absent mappings give defaults
    STUDIO_EXPECT_ERROR((void)c.at("model.head.stacked_convs"), "expected a mapping");
  }

  void bad_files() {
    QTemporaryDir dir;
    STUDIO_EXPECT_ERROR(Config::load(dir.filePath("missing.yaml").toStdString()), "missing.yaml",
                        "recipe file not found");
    const std::string a = write_text(dir, "a.yaml", "base: b.yaml\nx: 1\n");
    write_text(dir, "b.yaml", "base: a.yaml\ny: 2\n");
    STUDIO_EXPECT_ERROR(Config::load(a), "includes itself");
    const std::string nobase = write_text(dir, "c.yaml", "base: nowhere.yaml\n");
    STUDIO_EXPECT_ERROR(Config::load(nobase), "c.yaml: base:", "nowhere.yaml' not found");
    const std::string bad = write_text(dir, "d.yaml", "model:\n  type: [unclosed\n");
    STUDIO_EXPECT_ERROR(Config::load(bad), "d.yaml:", "not valid YAML");
    const std::string list = write_text(dir, "e.yaml", "- 1\n- 2\n");
    STUDIO_EXPECT_ERROR(Config::load(list), "e.yaml", "mapping");
    const std::string ok = write_text(dir, "f.yaml", "train:\n  lr: 0.1\n");
    STUDIO_EXPECT_ERROR(Config::load(ok, {"train.lr"}), "expected key=value");
    STUDIO_EXPECT_ERROR(Config::load(ok, {"train.lr.x=1"}), "'train.lr' is a value, not a mapping");
    // A name longer than the file system allows is not found (std::filesystem threw before).
    const std::string long_base = write_text(dir, "g.yaml", "base: " + std::string(300, 'a') + ".yaml\n");
    STUDIO_EXPECT_ERROR(Config::load(long_base), "g.yaml: base:", "aaaa.yaml' not found");
  }

  // What YAML allows and a recipe must not hold is refused with the file and line, never followed:
  // an alias inside the node it names (a cycle: the tree walk would recurse for ever), a key given
  // twice in one mapping, nesting beyond 64 levels, aliases expanding to millions of values.
  // Aliases that do not cycle stay allowed.
  void yaml_trees_that_are_not_recipes() {
    QTemporaryDir dir;
    const std::string cycle = write_text(dir, "cycle.yaml", "model: &m\n  type: solov2\n  self: *m\n");
    STUDIO_EXPECT_ERROR(Config::load(cycle), "cycle.yaml:", "model.self", "cycle");
    STUDIO_EXPECT_ERROR(Config::parse("a: &l [1, *l]\n", "list.yaml"), "list.yaml:1", "a[1]", "cycle");
    const std::string twice = write_text(dir, "twice.yaml", "train:\n  lr: 0.1\n  epochs: 2\n  lr: 0.2\n");
    STUDIO_EXPECT_ERROR(Config::load(twice), "twice.yaml:4", "train.lr", "twice", "line 2");
    // Not text: yaml-cpp took NUL and bytes that are not UTF-8 into keys, and wrote two such keys
    // back as one (fuzz/findings/recipe/resolved_keys_collide.bin).
    using namespace std::string_literals;
    STUDIO_EXPECT_ERROR(Config::parse("train:\n  \x00\xfc: 1\n  \x00\xfd: 2\n"s, "nul.yaml"), "nul.yaml:2",
                        "not a text recipe: byte 0x00 at offset 9");
    STUDIO_EXPECT_ERROR(Config::parse("model:\n  type: solo\xffv2\n", "latin.yaml"), "latin.yaml:2", "byte 0xFF");
    Config ok = Config::parse("model: {type: solov2}\n", "ok.yaml");
    STUDIO_EXPECT_ERROR(ok.set("model.type", "a\x01" "b", "-o"), "-o: byte 0x01 at offset 1 of the value");
    STUDIO_EXPECT_ERROR(ok.set("model.\xc3", "1", "-o"), "-o: byte 0xC3 at offset 6 of the key");
    STUDIO_EXPECT_ERROR(ok.set("model.type", "a\rb", "-o"), "-o: byte 0x0D at offset 1 of the value");
    // A dotted key as deep as a recipe may nest, with a value below it, would make a config.yaml
    // that does not read back (fuzz/findings/recipe/override_path_too_deep.bin).
    std::string deep_key = "model";
    for (int i = 0; i < 63; ++i) deep_key += ".k";
    ok.set(deep_key, "1", "-o");  // 64 levels: allowed
    STUDIO_EXPECT_ERROR(ok.set(deep_key, "{a: 1}", "-o"), "-o: model.k", "nested more than 64 levels deep");
    (void)Config::parse(ok.to_yaml(), "config.yaml");
    // A CR without LF: yaml-cpp reads it as a line break but wrote a key holding one back
    // unquoted (fuzz/findings/recipe/bare_carriage_returns.yaml). CRLF files are fine.
    STUDIO_EXPECT_ERROR(Config::parse("model:\r  type: solov2\r", "mac.yaml"), "mac.yaml:1",
                        "carriage return without a line feed at offset 6");
    QCOMPARE(Config::parse("model:\r\n  type: solov2\r\n", "dos.yaml").at("model").get_string("type"),
             std::string("solov2"));
    QCOMPARE(Config::parse("model: {type: \"r\u00e9seau \u2013 2\"}\n", "utf8.yaml").at("model").get_string("type"),
             std::string("r\u00e9seau \u2013 2"));  // UTF-8 is text
    std::string deep;
    for (int i = 0; i < 70; ++i) deep += std::string(static_cast<size_t>(2 * i), ' ') + "k" + std::to_string(i) + ":\n";
    deep += std::string(140, ' ') + "v: 1\n";
    STUDIO_EXPECT_ERROR(Config::parse(deep, "deep.yaml"), "deep.yaml:", "64 levels");
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'i'; ++c)
      laughs += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) +
                ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" +
                char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
    STUDIO_EXPECT_ERROR(Config::parse(laughs, "laughs.yaml"), "laughs.yaml:", "aliases are expanded");
    const Config shared = Config::parse("x: &s {lr: 0.5}\ntrain: *s\n", "shared.yaml");
    QCOMPARE(shared.at("train").get_double("lr"), 0.5);
  }

  // Found by fuzz/fuzz_recipe (fuzz/findings/recipe): a list or mapping as a key made yaml-cpp's
  // conversion to text throw its own exception out of Config::load (not a studio::Error, so the
  // CLI and the Train page could not report it), and so did a list inside `base:`. Overrides obey
  // the same rules as a recipe's values.
  void keys_must_be_names() {
    QTemporaryDir dir;
    const std::string list_key = write_text(dir, "list_key.yaml", "model:\n  ? [12, 8]\n  : 3\n");
    STUDIO_EXPECT_ERROR(Config::load(list_key), "list_key.yaml:2", "model",
                        "a list or mapping used as a key");
    STUDIO_EXPECT_ERROR(Config::parse("{a: 1}: x\n", "map_key.yaml"), "map_key.yaml:1", "the top level",
                        "a list or mapping used as a key");
    const std::string nested_base = write_text(dir, "nested_base.yaml", "base: [[a.yaml]]\n");
    STUDIO_EXPECT_ERROR(Config::load(nested_base), "nested_base.yaml:1", "base: expected a file name");
    const std::string ok = write_text(dir, "ok.yaml", "train:\n  lr: 0.1\n");
    STUDIO_EXPECT_ERROR(Config::load(ok, {"train.lr={[1]: 2}"}), "train.lr",
                        "a list or mapping used as a key");
    STUDIO_EXPECT_ERROR(Config::load(ok, {"train.x=&a [1, *a]"}), "train.x", "cycle");
    // Nor is a null key: merged over a base it became a second key "null" beside it, which the
    // run folder's config.yaml then could not hold (fuzz/findings/recipe/null_key_merged.bin).
    STUDIO_EXPECT_ERROR(Config::parse("lr: 2\n~: 1\n", "tilde.yaml"), "tilde.yaml:2", "an empty key");
    STUDIO_EXPECT_ERROR(Config::parse("model:\n  : {a: 1}\n", "empty.yaml"), "empty.yaml:2", "model",
                        "an empty key");
    STUDIO_EXPECT_ERROR(Config::parse("null: 1\n", "null.yaml"), "null.yaml:1", "an empty key");
  }

  void relative_paths_follow_the_file_that_set_them() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("sub"));
    write_text(dir, "base.yaml", "model:\n  backbone:\n    pretrained: weights/r50.pt\n");
    const std::string child = write_text(dir, "sub/child.yaml", "base: ../base.yaml\nother: 1\n");
    Config c = Config::load(child, {"data.path=rel/x.json"});
    const std::string p = c.resolve_path("model.backbone.pretrained", "weights/r50.pt");
    QCOMPARE(p, (std::filesystem::path(dir.path().toStdString()) / "weights/r50.pt").lexically_normal().string());
    // A value from the command line stays relative to the working directory.
    QCOMPARE(c.resolve_path("data.path", "rel/x.json"), std::string("rel/x.json"));
  }

  void shipped_recipes_resolve() {
    for (const char* name : {"solov2_r50_fpn_1x_coco.yaml", "solov2_light_r50_fpn_coco.yaml",
                             "solov2_r18_fpn_shapes_cpu.yaml"}) {
      Config c = Config::load(std::string(STUDIO_TEST_DATA_DIR) + "/../../configs/" + name);
      QCOMPARE(c.at("model").get_string("type"), std::string("solov2"));
      // One stride and one scale range per grid (the shapes recipe's head takes 3 FPN levels).
      const std::size_t levels = c.at("model.head").get_int_list("num_grids", {}).size();
      QCOMPARE(levels, std::string(name) == "solov2_r18_fpn_shapes_cpu.yaml" ? std::size_t(3) : std::size_t(5));
      QCOMPARE(c.at("model.head").get_int_list("strides", {}).size(), levels);
      QVERIFY(c.at("train").get_int("epochs") > 0);
    }
    Config light = Config::load(std::string(STUDIO_TEST_DATA_DIR) + "/../../configs/solov2_light_r50_fpn_coco.yaml");
    QCOMPARE(light.at("model.head").get_int("stacked_convs"), 2);
    QCOMPARE(light.at("model.head").get_int("kernel_out_channels"), 128);
    QCOMPARE(light.at("train.schedule").get_int_list("steps", {}), (std::vector<int>{27, 33}));
    QCOMPARE(light.at("train.optimizer").get_double("lr"), 0.01);  // from the base
  }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "test_config.moc"
