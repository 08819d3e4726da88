// stb_image's implementation, from the same header the library uses (Debian's libstb-dev), compiled
// into the image_folder fuzz target with its sanitizers and coverage (see image_folder.cpp).
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
