using MultiLora.Data.Mixing;

namespace MultiLora.Data.Tests.Mixing;

public class TextMixSamplerTests
{
    [Fact]
    public void TextMix_OneInFive_HoldsWithinOnePercentOver10000Draws()
    {
        var sampler = new TextMixSampler(imageCount: 9000, textCount: 700, textMix: 0.2, seed: 1);
        var draws = Enumerable.Range(0, 10_000).Select(_ => sampler.Next()).ToList();
        var share = draws.Count(d => d.IsText) / 10_000.0;
        Assert.InRange(share, 0.19, 0.21);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.33)]
    public void TextMix_OtherRatios_HoldOverAnyThousandDraws(double mix)
    {
        var sampler = new TextMixSampler(5000, 300, mix, seed: 4);
        var draws = sampler.Epoch(0).Take(3000).ToArray();
        for (var start = 0; start + 1000 <= draws.Length; start += 500)
            Assert.InRange(draws.Skip(start).Take(1000).Count(d => d.IsText) / 1000.0, mix - 0.01, mix + 0.01);
    }

    [Fact]
    public void SameSeed_SameOrder_OtherSeed_OtherOrder()
    {
        var a = new TextMixSampler(500, 100, 0.2, seed: 7).Epoch(0).ToArray();
        var b = new TextMixSampler(500, 100, 0.2, seed: 7).Epoch(0).ToArray();
        var c = new TextMixSampler(500, 100, 0.2, seed: 8).Epoch(0).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Epoch_TakesEveryImageOnce_AndEachEpochHasItsOwnOrder()
    {
        var sampler = new TextMixSampler(1234, 50, 0.2, seed: 3);
        var epoch0 = sampler.Epoch(0).ToArray();
        var epoch1 = sampler.Epoch(1).ToArray();

        Assert.Equal(Enumerable.Range(0, 1234), epoch0.Where(d => !d.IsText).Select(d => d.Index).Order());
        Assert.Equal(Enumerable.Range(0, 1234), epoch1.Where(d => !d.IsText).Select(d => d.Index).Order());
        Assert.Equal(sampler.EpochLength, epoch0.Length);
        Assert.NotEqual(epoch0, epoch1);
        Assert.All(epoch0.Where(d => d.IsText), d => Assert.InRange(d.Index, 0, 49));
    }

    [Fact]
    public void State_RoundTripsThroughJson_AndResumesExactly()
    {
        var full = new TextMixSampler(300, 40, 0.25, seed: 11);
        var reference = Enumerable.Range(0, 900).Select(_ => full.Next()).ToArray(); // crosses epoch boundaries

        var interrupted = new TextMixSampler(300, 40, 0.25, seed: 11);
        for (var i = 0; i < 517; i++) interrupted.Next();
        var saved = interrupted.State.ToJson();

        var resumed = new TextMixSampler(300, 40, 0.25, seed: 11);
        resumed.Restore(SamplerState.FromJson(saved));
        var rest = Enumerable.Range(0, 900 - 517).Select(_ => resumed.Next()).ToArray();

        Assert.Equal(reference.Skip(517), rest);
        Assert.Equal(interrupted.State, SamplerState.FromJson(saved));
    }

    [Fact]
    public void StateJson_WithUnknownField_Refused()
    {
        Assert.Throws<InvalidDataException>(() => SamplerState.FromJson("""{"epoch": 1, "position": 2, "pos": 3}"""));
    }

    [Fact]
    public void NoTextMix_DrawsOnlyImages()
    {
        var sampler = new TextMixSampler(100, 0, 0, seed: 1);
        Assert.All(sampler.Epoch(0), d => Assert.False(d.IsText));
        Assert.Equal(100, sampler.EpochLength);
    }
}
