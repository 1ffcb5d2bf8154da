#include "cli/app.h"

int main(int argc, char** argv) { return cutover::cli::run(argc, argv); }
