namespace MultiLora.Data.Errors;

/// <summary>What a dataset does with a bad record: stop the run (<see cref="Fail"/>) or count it and go on (<see cref="Skip"/>).</summary>
public enum OnError { Fail, Skip }
