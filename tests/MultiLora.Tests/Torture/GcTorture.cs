using System.Diagnostics;
using System.Diagnostics.Tracing;
using TorchSharp;

namespace MultiLora.Tests.Torture;

/// <summary>What happened while code ran under <see cref="GcTorture"/>.</summary>
/// <param name="Collections">full collections (each followed by a finalizer pass) the torture thread forced</param>
/// <param name="FinalizedScalars">TorchSharp Scalars whose finalizer ran: each was a temporary nobody disposed, so a
/// native call may have been reading it when it was freed (issue 17). Zero when every Scalar is process-lifetime or disposed.</param>
public sealed record TortureReport(long Collections, long FinalizedScalars, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Elapsed.TotalSeconds:0.0} s under torture, {Collections} forced collections, {FinalizedScalars} Scalars finalised";

    /// <summary>The torture really ran, and no Scalar was left for the finalizer.</summary>
    public void AssertClean(string what)
    {
        Assert.True(Collections >= 3, $"{what}: only {Collections} forced collections: the torture did not overlap the code");
        Assert.True(FinalizedScalars == 0,
            $"{what}: {FinalizedScalars} TorchSharp Scalar(s) were finalised while it ran (temporaries a native call may have been reading: issue 17)");
    }
}

/// <summary>
/// GC torture: a background thread forcing full blocking collections and running finalizers in a tight loop
/// while the code under test runs on the calling thread (and its own workers). A temporary Scalar that only a
/// native call still uses is then freed within microseconds of becoming unreachable, so the race of issue 17
/// shows up as a crash or a wrong value instead of once in a long run. Because such a crash is still a matter
/// of timing, the torture also counts (through the runtime's FinalizeObject events) every TorchSharp Scalar the
/// finalizer frees: each is a temporary nobody kept alive, which makes the check deterministic.
/// Runs of this class must not overlap other tests (their Scalars would be counted): see <see cref="TortureCollection"/>.
/// </summary>
public static class GcTorture
{
    public static (T Result, TortureReport Report) Run<T>(Func<T> body)
    {
        // garbage left by earlier code is finalised now, not counted against the body
        Settle();
        using var finalizations = new ScalarFinalizations();
        long collections = 0;
        bool stop = false;
        var thread = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-torture" };
        var clock = Stopwatch.StartNew();
        thread.Start();
        T result;
        try { result = body(); }
        finally
        {
            Volatile.Write(ref stop, true);
            thread.Join();
        }
        var elapsed = clock.Elapsed;
        // temporaries the body dropped at its very end are counted too
        Settle();
        return (result, new TortureReport(Interlocked.Read(ref collections), finalizations.Drain(), elapsed));
    }

    static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Counts FinalizeObject events of TorchSharp.Scalar (runtime GC events, verbose level).</summary>
    sealed class ScalarFinalizations : EventListener
    {
        const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
        const long GcKeyword = 0x1;
        static readonly nint ScalarType = typeof(Scalar).TypeHandle.Value;
        static readonly nint SentinelType = typeof(Sentinel).TypeHandle.Value;
        long _scalars, _sentinels;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == RuntimeSource) EnableEvents(source, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "FinalizeObject" || e.PayloadNames is null || e.Payload is null) return;
            int i = e.PayloadNames.IndexOf("TypeID");
            if (i < 0 || e.Payload[i] is not nint type) return;
            if (type == ScalarType) Interlocked.Increment(ref _scalars);
            else if (type == SentinelType) Interlocked.Increment(ref _sentinels);
        }

        /// <summary>
        /// Events reach the listener asynchronously: finalise a sentinel after everything else and wait for its
        /// event, so every earlier finalisation has been counted.
        /// </summary>
        public long Drain()
        {
            DropSentinel();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            while (Interlocked.Read(ref _sentinels) == 0)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException("GC torture: the runtime's FinalizeObject events did not arrive; the Scalar count cannot be trusted");
                Thread.Sleep(10);
            }
            return Interlocked.Read(ref _scalars);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void DropSentinel() => _ = new Sentinel();
    }

    sealed class Sentinel
    {
        ~Sentinel() { }
    }
}

/// <summary>Torture runs alone: parallel tests would be slowed by the forced collections and their Scalars counted.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TortureCollection
{
    public const string Name = "gc-torture";
}
