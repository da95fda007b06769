/* The public header compiles alone as strict, warning-free C11. */
#include "multiproc.h"

int main(void) { return MP_OK == 0 && MP_FOREVER == -1 ? 0 : 1; }
