namespace MultiLora.Core.Runtime;

/// <summary>When a loop of similar steps gives the heap's free pages back: see <see cref="HeapReleasePolicy"/>.</summary>
public enum HeapRelease { Auto, Step, Never }

/// <summary>
/// Keeps a training loop's resident memory from climbing without paying for a release every step. A release
/// (<see cref="NativeHeap.Release"/>) costs the trim and then the page faults of touching that memory again:
/// on the 2-core CPU here, done every step, 13% of a 108M-parameter model's throughput, and the quickstart, whose
/// steps are short, took 7:31 instead of 6:18 (5:50 with Auto). So in Auto mode a release happens only when
/// resident memory exceeds <see cref="Headroom"/> times what a step needs. The need is the largest resident size
/// at the end of a step that started on a released heap: glibc keeps the pages such a step touched, so that is
/// about the step's peak, without inflation from earlier steps (reading the kernel's peak counter instead would
/// mean resetting it, which would falsify the peak that tools like /usr/bin/time report).
/// </summary>
public sealed class HeapReleasePolicy(HeapRelease mode, Func<bool>? release = null)
{
    public const double Headroom = 1.25;

    readonly Func<bool> _release = release ?? NativeHeap.Release;
    long _need;
    bool _measureNext;

    /// <summary>Largest resident size at the end of a step that started on a released heap (0 before any).</summary>
    public long NeedBytes => _need;
    public int Releases { get; private set; }

    /// <summary>Before the first step: a clean heap, so the first step measures its need.</summary>
    public void Start()
    {
        if (mode != HeapRelease.Never) Release();
    }

    /// <summary>At a step's end, with the resident size now; true if the heap was released.</summary>
    public bool AfterStep(long residentBytes)
    {
        if (mode == HeapRelease.Never) return false;
        if (_measureNext) _need = Math.Max(_need, residentBytes);
        _measureNext = false;
        if (mode == HeapRelease.Auto && residentBytes <= _need * Headroom) return false;
        Release();
        return true;
    }

    void Release()
    {
        // where the C library cannot release (not glibc), there is nothing to measure either
        _measureNext = _release();
        if (_measureNext) Releases++;
    }
}
