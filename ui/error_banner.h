#pragma once

class QLabel;

namespace studio::ui {

// The red message strip each page shows above its content for errors the user must see
// (word-wrapped, selectable so it can be copied, hidden until it has a message).
QLabel* makeErrorBanner();

}  // namespace studio::ui
