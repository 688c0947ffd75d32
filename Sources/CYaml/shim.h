// libyaml's types only: its functions are looked up with dlsym when a spec is read (see
// HostSpec/YAML.swift), so no tool but host-prepare loads the library.
#include <yaml.h>
