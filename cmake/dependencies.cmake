# Every third-party dependency is a Debian bookworm -dev package (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENSLIDE REQUIRED IMPORTED_TARGET openslide)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
# jemalloc replaces malloc in the mcval binary: the tile cache frees and allocates tiles of every
# size all day, and glibc's arenas fragment under that (resident memory crept ~10 MiB in 4 minutes
# of the soak at concurrency 64 and kept creeping); jemalloc's size classes keep it flat. Not
# under the sanitizers or libFuzzer, which bring their own allocator.
if(MCVAL_JEMALLOC AND NOT MCVAL_SANITIZE AND NOT MCVAL_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
find_package(JPEG REQUIRED)  # libjpeg API of libjpeg-turbo: partial decoding of stored tiles
find_package(PNG REQUIRED)
find_package(TIFF REQUIRED)
find_package(SQLite3 REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)  # libpq-dev: the PostgreSQL store engine
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(GTest REQUIRED)
# OpenCV (inference: tissue detection with imgproc, ONNX models with dnn). Debian ships
# OpenCVConfig.cmake only in the umbrella libopencv-dev; with just the per-module -dev packages
# the same imported targets (opencv_core, opencv_imgproc, opencv_dnn) are made here.
find_package(OpenCV 4 QUIET COMPONENTS core imgproc dnn)
if(NOT OpenCV_FOUND)
  find_path(MCVAL_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  foreach(component core imgproc dnn)
    find_library(MCVAL_OPENCV_${component}_LIBRARY opencv_${component} REQUIRED)
    add_library(opencv_${component} SHARED IMPORTED)
    set_target_properties(opencv_${component} PROPERTIES
      IMPORTED_LOCATION "${MCVAL_OPENCV_${component}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${MCVAL_OPENCV_INCLUDE_DIR}")
  endforeach()
  set_property(TARGET opencv_imgproc opencv_dnn APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_core)
  message(STATUS "OpenCV: module libraries under ${MCVAL_OPENCV_INCLUDE_DIR} (no OpenCVConfig.cmake)")
endif()
