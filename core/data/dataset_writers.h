#pragma once
// Writing a dataset's annotations as a Pascal VOC folder or a TXT list (COCO JSON: coco_io.h).
// Boxes are written in each format's own convention (voc_reader.h, txt_reader.h), so reading the
// written files gives the same boxes back when they lie on whole pixels (the shapes generator's
// do); other boxes are rounded to whole pixels. Masks are not written (neither format holds
// polygons). Every file is written atomically; images are not copied: the caller puts them where
// the format expects them (VOC: <root>/JPEGImages/<file_name>, TXT: the list's image folder).
#include <string>

#include "data/dataset.h"

namespace studio {

// <root>/Annotations/<stem>.xml for every image (its <filename>, <size>, and an <object> per
// annotation with <name>, <difficult>, <truncated> and 1-based inclusive <bndbox> corners), and
// <root>/ImageSets/Main/<split>.txt listing the stems in image order; <root>/names.txt lists the
// categories in order, for VocOptions::names_file. Throws studio::Error naming the file.
void write_voc_folder(const Dataset& dataset, const std::string& root, const std::string& split);

// One line an image: "file_name x1,y1,x2,y2,cls ..." (0-based corners, x2/y2 exclusive, cls the
// category's 0-based position); names_path lists the categories in order.
void write_txt_list(const Dataset& dataset, const std::string& list_path, const std::string& names_path);

}  // namespace studio
