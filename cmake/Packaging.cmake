# Installation and the Debian package (CPack): studio and studio-cli in bin/, the recipes in
# share/studio/configs (where the Train page looks, next to ../share from the executable), a
# desktop entry and an icon for the menu. The package's dependencies are computed from the
# binaries by dpkg-shlibdeps, so they follow whatever the build linked.
#   cmake --build build --target package      ->  build/studio_<version>_<arch>.deb
#   apt-get install ./build/studio_*.deb       (installer/package.sh does both and checks it)
include(GNUInstallDirs)

install(TARGETS studio-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET studio)
  install(TARGETS studio RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/installer/desktop/studio.desktop
          DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${PROJECT_SOURCE_DIR}/installer/desktop/studio.svg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/studio/configs
        FILES_MATCHING PATTERN "*.yaml")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME studio)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Studio")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Desktop studio for training and inspecting instance-segmentation and detection models")
set(CPACK_PACKAGE_DESCRIPTION "Trains SOLOv2, Mask R-CNN and SSD models on the CPU or GPUs, checks datasets \
(COCO, VOC, TXT), evaluates them as pycocotools does, overlays predictions on images and exports result \
tables: the studio (GUI) and studio-cli (command line), no Python at run time.")
set(CPACK_PACKAGE_CONTACT "Studio maintainers <studio@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # studio_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Debian's LibTorch calls libblas.so.3: OpenBLAS's OpenMP build makes float32 layers several times
# faster than the reference BLAS (see installer/install-deps.sh).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
# The debug information stays in the build tree; stripped, the package is a tenth of the size.
set(CPACK_STRIP_FILES ON)
# gzip: every dpkg reads it, and compressing ~40 MB of binaries takes seconds, not minutes (xz).
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
