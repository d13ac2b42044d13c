using StbImageSharp;

namespace MultiLora.Data.Images;

/// <summary>Decodes PNG, JPEG, BMP, GIF (first frame), TGA, PSD and HDR through StbImageSharp, to RGB.</summary>
public static class ImageDecoder
{
    public static RgbImage DecodeFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image file not found", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <param name="origin">Names the image in errors (a path, or "file.parquet#12").</param>
    public static RgbImage Decode(byte[] bytes, string origin)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"{origin}: image is empty (0 bytes)");
        if (LooksLikeWebP(bytes))
            throw new InvalidDataException($"{origin}: WebP images are not supported by the managed decoder; convert to PNG or JPEG");
        try
        {
            var img = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue);
            if (img is null || img.Data is null || img.Width <= 0 || img.Height <= 0)
                throw new InvalidDataException($"{origin}: could not decode image");
            return new RgbImage(img.Width, img.Height, img.Data);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{origin}: could not decode image ({e.Message})", e);
        }
    }

    static bool LooksLikeWebP(byte[] b) =>
        b.Length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P';
}
