# Open MPI's own all-reduce through mpi4py (no .NET, no watchdog): the transport baseline for the allreduce benchmark.
# Same sizes, warm-up and call counts as AllReduceBenchmark. Needs python3-mpi4py and python3-numpy (Debian packages).
# mpirun --allow-run-as-root --oversubscribe --bind-to none -n 2 /usr/bin/python3 benchmarks/allreduce_mpi4py.py
import time, numpy as np
from mpi4py import MPI
c = MPI.COMM_WORLD
b = 1024
while b <= 256 << 20:
    x = np.ones(b // 4, np.float32)
    calls = max(3, min(400, (512 << 20) // b))
    c.Barrier()
    for _ in range(2): c.Allreduce(MPI.IN_PLACE, x, MPI.SUM)
    c.Barrier(); t = time.perf_counter()
    for _ in range(calls): c.Allreduce(MPI.IN_PLACE, x, MPI.SUM)
    s = c.allreduce((time.perf_counter() - t) / calls, MPI.MAX)
    if c.rank == 0: print(f"{b:>10} B  {s*1e6:12.1f} us  {b/s/1e6:8.0f} MB/s")
    b *= 4
