namespace MultiLora.Distributed;

/// <summary>
/// Which collective library a run uses (recipe <c>distributed.backend</c>): auto picks none for one process,
/// nccl for CUDA training where libnccl loads, mpi otherwise.
/// </summary>
public enum DistributedBackend { Auto, Mpi, Nccl, None }

public static class DistributedBackends
{
    public const string Choices = "auto|mpi|nccl|none";

    public static DistributedBackend Parse(string value, string key = "distributed.backend") =>
        TryParse(value, out var backend) ? backend : throw new InvalidDataException($"{key} '{value}' is not one of {Choices}");

    public static bool TryParse(string? value, out DistributedBackend backend)
    {
        DistributedBackend? parsed = value?.Trim().ToLowerInvariant() switch
        {
            "auto" => DistributedBackend.Auto,
            "mpi" => DistributedBackend.Mpi,
            "nccl" => DistributedBackend.Nccl,
            "none" => DistributedBackend.None,
            _ => null,
        };
        backend = parsed ?? DistributedBackend.Auto;
        return parsed is not null;
    }
}
