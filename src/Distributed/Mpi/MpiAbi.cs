namespace MultiLora.Distributed.Mpi;

/// <summary>
/// The predefined handles of the two MPI ABIs in use. Open MPI's handles are the addresses of objects the
/// library exports (MPI_COMM_WORLD is &amp;ompi_mpi_comm_world); MPICH and its derivatives (Intel MPI, Cray
/// MPICH, MVAPICH) use integer constants from mpi.h. Handles are carried as nint either way: an MPICH int
/// travels in the low half of the same register (x86-64 and aarch64 calling conventions).
/// </summary>
sealed record MpiAbi(string Name, nint CommWorld, nint Float, nint Double, nint Int64, nint Byte, nint Sum, nint ErrorsReturn, nint InPlace)
{
    public const int ThreadMultiple = 3;   // MPI_THREAD_MULTIPLE in both ABIs
    public const int Success = 0;
    public const int MaxErrorString = 1024;        // Open MPI 256, MPICH 1024
    public const int MaxLibraryVersionString = 8192;   // Open MPI 256, MPICH 8192
    /// <summary>Bytes reserved for one MPI_Status (Open MPI 24, MPICH 20); we never read it.</summary>
    public const int StatusBytes = 64;

    /// <summary>Open MPI: exported objects, looked up in the loaded library.</summary>
    public static MpiAbi? OpenMpi(Func<string, nint> export)
    {
        nint world = export("ompi_mpi_comm_world");
        if (world == 0) return null;
        return new MpiAbi("Open MPI", world, export("ompi_mpi_float"), export("ompi_mpi_double"), export("ompi_mpi_int64_t"),
            export("ompi_mpi_byte"), export("ompi_mpi_op_sum"), export("ompi_mpi_errors_return"), InPlace: 1);
    }

    /// <summary>MPICH's constants (mpi.h of MPICH 3.x/4.x).</summary>
    public static MpiAbi Mpich { get; } = new("MPICH", CommWorld: 0x44000000, Float: 0x4c00040a, Double: 0x4c00080b, Int64: 0x4c00083a,
        Byte: 0x4c00010d, Sum: 0x58000003, ErrorsReturn: 0x54000001, InPlace: -1);
}
