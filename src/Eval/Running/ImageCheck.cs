using MultiLora.Data.Images;
using MultiLora.Data.Model;

namespace MultiLora.Eval.Running;

/// <summary>Finds a sample's bad image before the model sees it, so the failure is that sample's alone, with a reason.</summary>
public static class ImageCheck
{
    /// <returns>null when the image is usable, else why not.</returns>
    public static string? Problem(ImageSource? image, bool decode)
    {
        if (image is null) return null;
        try
        {
            if (image.Path is { } path)
            {
                if (!File.Exists(path)) return $"image not found: {path}";
                if (decode) ImageDecoder.DecodeFile(path);
            }
            else if (image.Bytes is { } bytes && decode) ImageDecoder.Decode(bytes, "embedded image");
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException) { return e.Message; }
    }
}
