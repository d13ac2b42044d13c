namespace MultiLora.Data.Mixing;

/// <summary>One draw: a text-only sample or an image sample, and its index in that pool.</summary>
public readonly record struct SampleDraw(bool IsText, int Index);

/// <summary>
/// Interleaves image samples with text-only samples at a fixed ratio (<c>text_mix</c>: 0.2 = one in five draws is
/// text-only). Every window of <see cref="Window"/> draws holds exactly its share of text draws, at positions
/// shuffled per window, so the ratio holds tightly yet the order is random. An epoch is one pass over the image
/// pool (the text pool cycles, reshuffled each cycle); each epoch has its own order derived from the seed.
/// Draw k of epoch e is a pure function of (seed, e, k), so <see cref="SamplerState"/> restores it exactly.
/// </summary>
public sealed class TextMixSampler
{
    public const int Window = 100;

    readonly int imageCount, textCount, seed;
    readonly double textMix;
    readonly Dictionary<(int Epoch, long Window), int[]> windowRanks = [];
    (int Epoch, int[] Order)? imageOrder;
    (int Epoch, long Cycle, int[] Order)? textOrder;

    public TextMixSampler(int imageCount, int textCount, double textMix, int seed)
    {
        if (imageCount < 0 || textCount < 0) throw new ArgumentException($"pool sizes must be non-negative, got {imageCount} image and {textCount} text samples");
        if (textMix is < 0 or >= 1) throw new ArgumentException($"text_mix must be in [0, 1), got {textMix}");
        if (textMix > 0 && textCount == 0) throw new ArgumentException($"text_mix is {textMix} but there are no text-only samples");
        if (imageCount == 0 && textCount == 0) throw new ArgumentException("nothing to sample: both pools are empty");
        (this.imageCount, this.textCount, this.textMix, this.seed) = (imageCount, textCount, imageCount == 0 ? 1 : textMix, seed);
        EpochLength = imageCount == 0 ? textCount : FindEpochLength();
    }

    /// <summary>Draws per epoch: enough to take every image sample once (all text samples when there are no images).</summary>
    public long EpochLength { get; }

    public SamplerState State { get; private set; } = SamplerState.Start;

    public void Restore(SamplerState state)
    {
        if (state.Position > EpochLength) throw new ArgumentException($"sampler position {state.Position} is past the epoch length {EpochLength}");
        State = state;
    }

    /// <summary>The next draw; moves to the next epoch after the last draw of this one.</summary>
    public SampleDraw Next()
    {
        if (State.Position >= EpochLength) State = new SamplerState(State.Epoch + 1, 0);
        var draw = At(State.Epoch, State.Position);
        State = State with { Position = State.Position + 1 };
        return draw;
    }

    /// <summary>The draws of one whole epoch, in order.</summary>
    public IEnumerable<SampleDraw> Epoch(int epoch)
    {
        for (long p = 0; p < EpochLength; p++) yield return At(epoch, p);
    }

    /// <summary>Draw <paramref name="position"/> of <paramref name="epoch"/>.</summary>
    public SampleDraw At(int epoch, long position)
    {
        var (isText, textBefore) = Classify(epoch, position);
        if (isText) return new SampleDraw(true, TextIndex(epoch, textBefore));
        return new SampleDraw(false, ImageOrder(epoch)[position - textBefore]);
    }

    /// <summary>Whether draw p is text-only, and how many text draws come before it in the epoch.</summary>
    (bool IsText, long TextBefore) Classify(int epoch, long position)
    {
        if (textMix >= 1) return (true, position);
        var window = position / Window;
        var offset = (int)(position % Window);
        var windowStart = window * Window;
        var size = (int)Math.Min(Window, EpochLength - windowStart);
        var quota = size == Window && windowStart + Window < EpochLength
            ? (int)(TextPrefix(window + 1) - TextPrefix(window))
            // The epoch's last window: whatever is not needed to finish the image pool is text.
            : size - (int)(imageCount - (windowStart - TextPrefix(window)));
        var ranks = WindowRanks(epoch, window, size);
        var before = TextPrefix(window);
        for (var j = 0; j < offset; j++) if (ranks[j] < quota) before++;
        return (ranks[offset] < quota, before);
    }

    /// <summary>Text draws in the first <paramref name="windows"/> full windows (rounded down, with slack for binary fractions like 0.2).</summary>
    long TextPrefix(long windows) => (long)Math.Floor(windows * Window * textMix + 1e-9);

    /// <summary>The smallest n with n - floor(n * text_mix) image draws reaching the image pool size.</summary>
    long FindEpochLength()
    {
        long lo = imageCount, hi = (long)Math.Ceiling(imageCount / (1 - textMix)) + Window;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (mid - (long)Math.Floor(mid * textMix + 1e-9) >= imageCount) hi = mid; else lo = mid + 1;
        }
        return lo;
    }

    int[] WindowRanks(int epoch, long window, int size)
    {
        if (windowRanks.TryGetValue((epoch, window), out var ranks)) return ranks;
        if (windowRanks.Count > 64) windowRanks.Clear();
        var order = new SeededRandom(seed, $"text-mix-window/{epoch}", window).Permutation(size);
        ranks = new int[size];
        for (var i = 0; i < size; i++) ranks[order[i]] = i;
        return windowRanks[(epoch, window)] = ranks;
    }

    int[] ImageOrder(int epoch)
    {
        if (imageOrder is { } cached && cached.Epoch == epoch) return cached.Order;
        var order = new SeededRandom(seed, "image-order", epoch).Permutation(imageCount);
        imageOrder = (epoch, order);
        return order;
    }

    int TextIndex(int epoch, long textDraw)
    {
        var cycle = textDraw / textCount;
        if (textOrder is not { } cached || cached.Epoch != epoch || cached.Cycle != cycle)
            textOrder = cached = (epoch, cycle, new SeededRandom(seed, $"text-order/{epoch}", cycle).Permutation(textCount));
        return cached.Order[(int)(textDraw % textCount)];
    }
}
