namespace MultiLora.Data.Errors;

/// <summary>Applies on_error to one bad record: throws under fail, counts into the report under skip.</summary>
public sealed class DataErrorPolicy(OnError onError, DataErrorReport report)
{
    public OnError OnError { get; } = onError;
    public DataErrorReport Report { get; } = report;

    /// <summary>A policy that stops at the first bad record (the default: nothing is dropped silently).</summary>
    public static DataErrorPolicy Fail() => new(OnError.Fail, new DataErrorReport());

    public static DataErrorPolicy Skip(DataErrorReport? report = null) => new(OnError.Skip, report ?? new DataErrorReport());

    /// <summary>Under fail throws an InvalidDataException with the record's message ("file#index: reason"); under skip counts it.</summary>
    public void Handle(DataRecordException error)
    {
        if (OnError == OnError.Fail) throw new InvalidDataException($"{error.Message} [{error.Kind}]", error);
        Report.Record(error);
    }
}
