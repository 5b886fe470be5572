# Third-party libraries, all from Debian 12 packages (installer/install-deps.sh).
# Torch-free layers use only what is found here; LibTorch is looked up by the layers that need it.
find_package(Threads REQUIRED)
find_package(simdjson REQUIRED)      # fast JSON reading (COCO files reach hundreds of MB)
find_package(RapidJSON REQUIRED)     # streaming JSON writer
find_package(pugixml REQUIRED)       # VOC XML
find_package(yaml-cpp REQUIRED)      # recipes and dataset YAML
find_package(CLI11 REQUIRED)         # studio-cli subcommands
find_package(spdlog REQUIRED)        # logging

# Debian splits OpenCV per module and ships the CMake config only with the full libopencv-dev;
# we need three modules, so find them directly.
find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(mod core imgproc imgcodecs)
  find_library(OpenCV_${mod}_LIB opencv_${mod} REQUIRED)
endforeach()
add_library(studio_opencv INTERFACE)
target_include_directories(studio_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIR})
target_link_libraries(studio_opencv INTERFACE ${OpenCV_core_LIB} ${OpenCV_imgproc_LIB} ${OpenCV_imgcodecs_LIB})

if(STUDIO_BUILD_UI OR STUDIO_BUILD_TESTS)
  set(_qt_components Core)
  if(STUDIO_BUILD_UI)
    list(APPEND _qt_components Gui Widgets PrintSupport Concurrent Svg)
  endif()
  if(STUDIO_BUILD_TESTS)
    list(APPEND _qt_components Test)
  endif()
  find_package(Qt6 REQUIRED COMPONENTS ${_qt_components})
endif()
if(STUDIO_BUILD_UI)
  find_package(QCustomPlotQt6 REQUIRED)
endif()

# LibTorch (not in the sanitizer build, STUDIO_FUZZ, which builds the torch-free layers only):
# Debian's libtorch-dev (CPU, 1.13) here; on a GPU machine the CUDA LibTorch of its
# PyTorch install (CMAKE_PREFIX_PATH=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")).
# Only core/modeling, core/engine, studio-cli and their tests see it.
if(NOT STUDIO_WITH_TORCH)
  return()
endif()
find_package(Torch REQUIRED)
if(TORCH_CXX_FLAGS)
  # The ABI flag torch was built with (-D_GLIBCXX_USE_CXX11_ABI=0|1) must match every target
  # that shares std::string with it; Debian's is 1, which is also the compiler's default.
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  add_compile_options(${_torch_flags})
endif()
set(STUDIO_HAS_CUDA OFF)
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR USE_CUDA)
  set(STUDIO_HAS_CUDA ON)
endif()
message(STATUS "studio: LibTorch ${Torch_VERSION}, CUDA ops: ${STUDIO_HAS_CUDA}")
