using System.Buffers.Binary;
using System.IO.Compression;
using MultiLora.Data.Images;

namespace MultiLora.Data.Synthetic;

/// <summary>
/// A minimal PNG writer: 8-bit RGB, no interlace, filter type 0 on every row, one IDAT chunk compressed with
/// zlib. Same pixels -> same bytes (fixed compression level, no timestamps), which the synthetic data relies on.
/// </summary>
public static class PngEncoder
{
    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] Encode(RgbImage image)
    {
        if (image.Width <= 0 || image.Height <= 0) throw new ArgumentException($"PNG needs a positive size, got {image.Width}x{image.Height}");
        if (image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"image of {image.Width}x{image.Height} needs {image.Width * image.Height * 3} bytes, has {image.Pixels.Length}");
        using var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], image.Height);
        header[8] = 8;   // bit depth
        header[9] = 2;   // colour type: truecolour RGB
        header[10] = 0;  // compression: deflate
        header[11] = 0;  // filter method 0
        header[12] = 0;  // no interlace
        WriteChunk(output, "IHDR"u8, header);
        WriteChunk(output, "IDAT"u8, Compress(image));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    static byte[] Compress(RgbImage image)
    {
        var stride = image.Width * 3;
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < image.Height; y++)
            {
                zlib.WriteByte(0); // filter: None
                zlib.Write(image.Pixels, y * stride, stride);
            }
        }
        return compressed.ToArray();
    }

    static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute(data, Crc32.Compute(type)));
        output.Write(word);
    }
}
