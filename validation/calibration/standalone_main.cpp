// moesim-calibrate: `moesim calibrate` for builds without the simulator (MOESIM_SIMULATOR=OFF),
// such as validation/gpu/run.sh on a GPU node. Same code, same exit codes.
#include <iostream>

#include "hardware/input_error.hpp"
#include "validation/calibration/calibrate_command.hpp"

int main(int argc, char** argv) {
  using namespace moesim::calibration;
  try {
    return calibrate_command(std::vector<std::string>(argv + 1, argv + argc), std::cout);
  } catch (const CalibrateUsageError& e) {
    std::cerr << "moesim-calibrate: " << e.what() << "\nusage: " << CALIBRATE_USAGE;
    return 2;
  } catch (const moesim::InputError& e) {
    std::cerr << "moesim-calibrate: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "moesim-calibrate: internal error: " << e.what() << "\n";
    return 4;
  }
}
