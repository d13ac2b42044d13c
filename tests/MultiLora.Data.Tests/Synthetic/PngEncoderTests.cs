using MultiLora.Data.Images;
using MultiLora.Data.Mixing;
using MultiLora.Data.Synthetic;

namespace MultiLora.Data.Tests.Synthetic;

public class PngEncoderTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(64, 64)]
    public void Encode_ThenImageDecoder_GivesIdenticalPixels(int width, int height)
    {
        var random = new SeededRandom(width * 100 + height);
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)random.Next(256);
        var image = new RgbImage(width, height, pixels);

        var decoded = ImageDecoder.Decode(PngEncoder.Encode(image), "roundtrip");

        Assert.Equal(width, decoded.Width);
        Assert.Equal(height, decoded.Height);
        Assert.Equal(pixels, decoded.Pixels);
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Fact]
    public void Encode_WrongBufferSize_Refused()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new RgbImage(2, 2, new byte[5])));
    }
}
