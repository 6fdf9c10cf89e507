# Cross-compiling Vigil's device side for 64-bit ARM Linux (arm64, aarch64) on a Debian amd64
# machine with Debian's cross toolchain and multiarch arm64 libraries (docs/embedding.md,
# "Building for arm64 and Android"; scripts/cross arm64 installs all of it):
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DVIGIL_CLIENT_ONLY=ON
#
# Compilers: aarch64-linux-gnu-gcc/g++ (crossbuild-essential-arm64). Libraries and their
# pkg-config files: /usr/lib/aarch64-linux-gnu (the -dev:arm64 packages); headers are shared
# with the host in /usr/include. protoc is the host's own binary: it must be the same protobuf
# version as libprotobuf-dev:arm64 (Debian's Multi-Arch rules keep them in step).
# Binaries built here run on the build machine under qemu-aarch64 (qemu-user), set as
# CMAKE_CROSSCOMPILING_EMULATOR so that ctest and doctest's test discovery just work.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(VIGIL_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${VIGIL_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${VIGIL_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VIGIL_CROSS_TRIPLE})

# Debian multiarch: with CMAKE_LIBRARY_ARCHITECTURE set, find_library looks in
# /usr/lib/aarch64-linux-gnu (the arm64 libraries) and never in the host's x86_64 folder, and
# the cross compiler adds /usr/include/aarch64-linux-gnu; so no sysroot or find root is needed,
# and programs (protoc) are the host's.
# pkg-config (zstd, and the hints of FindOpenSSL/FindCURL) reads the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${VIGIL_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# qemu-aarch64 with the cross toolchain's libc as its sysroot; the arm64 libraries in
# /usr/lib/aarch64-linux-gnu are found through the host's paths (multiarch).
find_program(VIGIL_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(VIGIL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VIGIL_QEMU_AARCH64} -L /usr/${VIGIL_CROSS_TRIPLE})
endif()
