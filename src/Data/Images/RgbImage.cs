namespace MultiLora.Data.Images;

/// <summary>An 8-bit RGB image, row-major, 3 bytes a pixel.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    public byte this[int x, int y, int c] => Pixels[(y * Width + x) * 3 + c];
}

/// <summary>Preprocessed pixels, channel-first [3, Height, Width], normalised.</summary>
public sealed record PixelTensor(int Height, int Width, float[] Values);
