namespace MultiLora.Data.Errors;

/// <summary>
/// Counts skipped records per kind and keeps the first few reasons, so a run can log what it dropped.
/// Thread-safe: pipeline workers record into one report.
/// </summary>
public sealed class DataErrorReport
{
    /// <summary>How many reasons are kept verbatim; the rest are only counted.</summary>
    public const int KeptExamples = 10;

    readonly Lock gate = new();
    readonly Dictionary<DataErrorKind, int> counts = [];
    readonly List<string> examples = [];

    public void Record(DataRecordException error)
    {
        lock (gate)
        {
            counts[error.Kind] = counts.GetValueOrDefault(error.Kind) + 1;
            if (examples.Count < KeptExamples) examples.Add($"{error.Kind}: {error.Message}");
        }
    }

    public int Total { get { lock (gate) return counts.Values.Sum(); } }

    public int Count(DataErrorKind kind) { lock (gate) return counts.GetValueOrDefault(kind); }

    /// <summary>A snapshot of the counts, for the run's metrics.</summary>
    public IReadOnlyDictionary<DataErrorKind, int> Counts { get { lock (gate) return new Dictionary<DataErrorKind, int>(counts); } }

    /// <summary>The first <see cref="KeptExamples"/> errors as "Kind: origin: reason".</summary>
    public IReadOnlyList<string> Examples { get { lock (gate) return [.. examples]; } }

    /// <summary>Starts a new epoch's count.</summary>
    public void Clear() { lock (gate) { counts.Clear(); examples.Clear(); } }

    public override string ToString()
    {
        lock (gate)
            return counts.Count == 0 ? "no data errors"
                : string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"));
    }
}
