namespace MultiLora.Distributed.Watchdog;

/// <summary>
/// Heartbeat interval; how long a silent peer is tolerated before it counts as lost; how long one collective may
/// take before the run is declared stuck (a rank alive but never arriving, e.g. a deadlock on one rank).
/// </summary>
public sealed record WatchdogOptions(TimeSpan Interval, TimeSpan HeartbeatTimeout, TimeSpan CollectiveTimeout)
{
    public static WatchdogOptions Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30));
}
