// Image file helpers: header-only size probing (JPEG, PNG, BMP), full decoding, index PNGs
// (VOC masks: greyscale, palette, and palette colours stored as RGB) and writing.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <iterator>

#include "common/error.h"
#include "data/image_io.h"
#include "png_writer.h"
#include "test_support.h"

using namespace studio;

namespace {

std::vector<std::uint8_t> gradient(int w, int h) {
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7);
  return rgb;
}

std::string path_in(const QTemporaryDir& dir, const std::string& name) {
  return dir.filePath(QString::fromStdString(name)).toStdString();
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

class TestImageIo : public QObject {
  Q_OBJECT

 private slots:
  void probe_formats_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("height");
    QTest::newRow("jpeg") << "a.jpg" << 37 << 23;
    QTest::newRow("jpeg upper-case extension") << "b.JPEG" << 5 << 300;
    QTest::newRow("png") << "c.png" << 64 << 1;
    QTest::newRow("bmp") << "d.bmp" << 13 << 9;
  }
  void probe_formats() {
    QFETCH(QString, name);
    QFETCH(int, width);
    QFETCH(int, height);
    QTemporaryDir dir;
    const std::string path = path_in(dir, name.toStdString());
    const auto rgb = gradient(width, height);
    write_rgb_image(path, rgb.data(), width, height);
    const auto size = probe_image_size(path);
    QVERIFY(size.has_value());
    QCOMPARE(size->width, width);
    QCOMPARE(size->height, height);
    std::string error;
    const auto decoded = decode_image_size(path, &error);
    QVERIFY2(decoded.has_value(), error.c_str());
    QCOMPARE(decoded->width, width);
    QCOMPARE(decoded->height, height);
  }

  // The file content decides, not the extension: a PNG named .jpg is still probed right.
  void probe_ignores_extension() {
    QTemporaryDir dir;
    const auto rgb = gradient(8, 6);
    write_rgb_image(path_in(dir, "x.png"), rgb.data(), 8, 6);
    QFile::rename(dir.filePath("x.png"), dir.filePath("x.jpg"));
    const auto size = probe_image_size(path_in(dir, "x.jpg"));
    QVERIFY(size.has_value());
    QCOMPARE(size->width, 8);
    QCOMPARE(size->height, 6);
  }

  // An EXIF thumbnail (its own SOF inside APP1) must not be taken for the image; a progressive
  // frame header (SOF2) holds the size as a baseline one does.
  void probe_jpeg_thumbnail_and_progressive() {
    QTemporaryDir dir;
    const std::string path = path_in(dir, "a.jpg");
    const auto rgb = gradient(41, 17);
    write_rgb_image(path, rgb.data(), 41, 17);
    std::vector<std::uint8_t> bytes = read_bytes(path);
    // APP1 segment of length 2 + 12 holding a fake SOF0 for a 160x120 thumbnail.
    const std::vector<std::uint8_t> app1 = {0xFF, 0xE1, 0x00, 0x0E, 0xFF, 0xC0, 0x00, 0x11,
                                            0x08, 0x00, 0x78, 0x00, 0xA0, 0x03, 0x01, 0x22};
    bytes.insert(bytes.begin() + 2, app1.begin(), app1.end());
    const std::string with_thumb = path_in(dir, "thumb.jpg");
    write_bytes(with_thumb, bytes);
    auto size = probe_image_size(with_thumb);
    QVERIFY(size.has_value());
    QCOMPARE(size->width, 41);
    QCOMPARE(size->height, 17);

    for (std::size_t i = 2 + app1.size(); i + 1 < bytes.size(); ++i) {
      if (bytes[i] == 0xFF && bytes[i + 1] == 0xC0) {
        bytes[i + 1] = 0xC2;
        break;
      }
    }
    const std::string progressive = path_in(dir, "progressive.jpg");
    write_bytes(progressive, bytes);
    size = probe_image_size(progressive);
    QVERIFY(size.has_value());
    QCOMPARE(size->width, 41);
    QCOMPARE(size->height, 17);
  }

  // OS/2 bitmaps have a 12-byte header with 16-bit sizes; Windows ones may store rows top-down
  // with a negative height.
  void probe_bmp_variants() {
    QTemporaryDir dir;
    std::vector<std::uint8_t> core(26, 0);
    core[0] = 'B';
    core[1] = 'M';
    core[14] = 12;          // BITMAPCOREHEADER
    core[18] = 0x2C;        // width 300 (0x012C)
    core[19] = 0x01;
    core[20] = 7;           // height 7
    write_bytes(path_in(dir, "core.bmp"), core);
    auto size = probe_image_size(path_in(dir, "core.bmp"));
    QVERIFY(size.has_value());
    QCOMPARE(size->width, 300);
    QCOMPARE(size->height, 7);

    std::vector<std::uint8_t> info(54, 0);
    info[0] = 'B';
    info[1] = 'M';
    info[14] = 40;  // BITMAPINFOHEADER
    info[18] = 10;  // width 10
    const std::int32_t minus_four = -4;
    for (int k = 0; k < 4; ++k) info[22 + k] = static_cast<std::uint8_t>(std::uint32_t(minus_four) >> (8 * k));
    write_bytes(path_in(dir, "topdown.bmp"), info);
    size = probe_image_size(path_in(dir, "topdown.bmp"));
    QVERIFY(size.has_value());
    QCOMPARE(size->width, 10);
    QCOMPARE(size->height, 4);
  }

  void probe_rejects_bad_files() {
    QTemporaryDir dir;
    QVERIFY(!probe_image_size(path_in(dir, "missing.jpg")).has_value());
    write_bytes(path_in(dir, "empty.jpg"), {});
    QVERIFY(!probe_image_size(path_in(dir, "empty.jpg")).has_value());
    studio::test::write_text(dir, "garbage.png", "this is not an image, just some text long enough");
    QVERIFY(!probe_image_size(path_in(dir, "garbage.png")).has_value());

    // Truncated files: a JPEG cut before its frame header, a PNG cut inside IHDR.
    const auto rgb = gradient(20, 10);
    write_rgb_image(path_in(dir, "full.jpg"), rgb.data(), 20, 10);
    write_rgb_image(path_in(dir, "full.png"), rgb.data(), 20, 10);
    const auto jpeg = read_bytes(path_in(dir, "full.jpg"));
    const auto png = read_bytes(path_in(dir, "full.png"));
    write_bytes(path_in(dir, "cut.jpg"), {jpeg.begin(), jpeg.begin() + 20});
    write_bytes(path_in(dir, "cut.png"), {png.begin(), png.begin() + 20});
    QVERIFY(!probe_image_size(path_in(dir, "cut.jpg")).has_value());
    QVERIFY(!probe_image_size(path_in(dir, "cut.png")).has_value());
    // A JPEG whose segments end (EOI) before any frame header.
    write_bytes(path_in(dir, "noframe.jpg"), {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xD9});
    QVERIFY(!probe_image_size(path_in(dir, "noframe.jpg")).has_value());
    // A PNG signature with a zero width.
    std::vector<std::uint8_t> zero = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                      0,    0,   0,   0,   0,    0,    0,    5,    8, 2, 0, 0,  0,   0,   0,   0};
    write_bytes(path_in(dir, "zero.png"), zero);
    QVERIFY(!probe_image_size(path_in(dir, "zero.png")).has_value());
  }

  void decode_reports_errors() {
    QTemporaryDir dir;
    std::string error;
    QVERIFY(!decode_image_size(path_in(dir, "missing.png"), &error).has_value());
    QCOMPARE(QString::fromStdString(error), QString("cannot open"));
    studio::test::write_text(dir, "garbage.png", "not a png");
    QVERIFY(!decode_image_size(path_in(dir, "garbage.png"), &error).has_value());
    QCOMPARE(QString::fromStdString(error), QString("not a decodable image"));
  }

  // VOC masks: the same indices must come back from a greyscale PNG, a palette PNG and a PNG
  // that stores the palette colours as RGB.
  void read_index_png_forms_data() {
    QTest::addColumn<int>("form");
    QTest::newRow("greyscale") << 0;
    QTest::newRow("palette") << 1;
    QTest::newRow("rgb palette colours") << 2;
  }
  void read_index_png_forms() {
    QFETCH(int, form);
    QTemporaryDir dir;
    const int w = 7, h = 5;
    std::vector<std::uint8_t> index(std::size_t(w) * h);
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = static_cast<std::uint8_t>(i % 4);
    index[3] = 255;  // void
    index[9] = 20;
    const std::string path = path_in(dir, "mask.png");
    if (form < 2) {
      studio::test::write_index_png(path, index, w, h, form == 1);
    } else {
      std::vector<std::uint8_t> rgb;
      for (std::uint8_t v : index) {
        const auto c = studio::test::voc_palette_colour(v);
        rgb.insert(rgb.end(), c.begin(), c.end());
      }
      write_rgb_image(path, rgb.data(), w, h);
    }
    int rw = 0, rh = 0;
    const auto got = read_index_png(path, &rw, &rh);
    QCOMPARE(rw, w);
    QCOMPARE(rh, h);
    QVERIFY(got == index);
  }

  void read_index_png_errors() {
    QTemporaryDir dir;
    int w = 0, h = 0;
    STUDIO_EXPECT_ERROR((void)read_index_png(path_in(dir, "missing.png"), &w, &h), "missing.png", "not found");
    // A colour that is no VOC palette entry can't be mapped back to an instance number.
    const std::uint8_t rgb[3 * 2] = {0, 0, 0, 1, 2, 3};
    write_rgb_image(path_in(dir, "odd.png"), rgb, 2, 1);
    STUDIO_EXPECT_ERROR((void)read_index_png(path_in(dir, "odd.png"), &w, &h), "odd.png", "pixel (1,0)",
                        "outside the VOC palette");
  }

  void write_errors() {
    QTemporaryDir dir;
    const auto rgb = gradient(2, 2);
    STUDIO_EXPECT_ERROR(write_rgb_image(path_in(dir, "no/such/folder/a.png"), rgb.data(), 2, 2), "a.png",
                        "cannot write");
  }
};

QTEST_APPLESS_MAIN(TestImageIo)
#include "test_image_io.moc"
