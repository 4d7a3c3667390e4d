"""tilecodec: learned image compression that runs on a CPU."""
