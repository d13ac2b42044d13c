namespace MultiLora.Data.Errors;

/// <summary>
/// A bad record, with its kind for counting. The message is "origin: reason" where origin is "file#recordIndex".
/// Under on_error: fail, <see cref="DataErrorPolicy.Handle"/> rethrows it as an InvalidDataException (this as inner).
/// </summary>
public sealed class DataRecordException(DataErrorKind kind, string origin, string reason, Exception? inner = null)
    : Exception($"{origin}: {reason}", inner)
{
    public DataErrorKind Kind { get; } = kind;
    public string Origin { get; } = origin;
    public string Reason { get; } = reason;
}
