namespace MultiLora.Data.Images;

/// <summary>How a non-square image becomes the square the vision tower sees.</summary>
public enum AspectMode
{
    /// <summary>CLIPImageProcessor: resize the shortest edge, then center-crop (cuts the long side).</summary>
    Crop,
    /// <summary>LLaVA-1.5 image_aspect_ratio "pad": expand2square with the mean colour, then the processor.</summary>
    Pad,
}
