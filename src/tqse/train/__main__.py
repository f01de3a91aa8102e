"""``torchrun --nproc_per_node=N -m tqse.train CONFIG.yaml key=value ...``"""

import sys

from tqse.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
