#include "commands.h"

namespace mcval::app {

int run_synth(const Config&, const SynthCommandOptions&) {
  return fail(Error{ErrorCode::unsupported, "synth is being wired"});
}

}  // namespace mcval::app
