"""Add the TFLite metadata that the MediaPipe Tasks API needs to a bare pose model.

The pose models inside the ``mediapipe==0.10.21`` wheel were made for the legacy
graph API and carry no metadata; the Tasks API reads the input normalisation
(mean, std) and colour space from it. The flatbuffers schemas for both the
TFLite model and the metadata ship with current mediapipe.
"""

from __future__ import annotations

import zipfile

import numpy as np

__all__ = ["bundle_pose_models", "with_image_input_metadata"]

_METADATA_NAME = "TFLITE_METADATA"
_METADATA_FILE_IDENTIFIER = b"M001"
_MODEL_FILE_IDENTIFIER = b"TFL3"
_FIXED_ZIP_DATE = (2025, 1, 31, 0, 0, 0)


def _name(raw: bytes | str | None) -> str:
    return raw.decode() if isinstance(raw, bytes) else (raw or "")


def _metadata_buffer(model: object, model_name: str, mean: float, std: float) -> bytes:
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mfb

    norm = mfb.NormalizationOptionsT()
    norm.mean, norm.std = [float(mean)], [float(std)]
    unit = mfb.ProcessUnitT()
    unit.optionsType = mfb.ProcessUnitOptions.NormalizationOptions
    unit.options = norm
    image = mfb.ImagePropertiesT()
    image.colorSpace = mfb.ColorSpaceType.RGB
    content = mfb.ContentT()
    content.contentPropertiesType = mfb.ContentProperties.ImageProperties
    content.contentProperties = image
    image_input = mfb.TensorMetadataT()
    image_input.name = "image"
    image_input.content = content
    image_input.processUnits = [unit]

    subgraph = model.subgraphs[0]  # type: ignore[attr-defined]
    outputs = []
    for index in subgraph.outputs:
        output = mfb.TensorMetadataT()
        output.name = _name(subgraph.tensors[index].name)
        outputs.append(output)
    subgraph_md = mfb.SubGraphMetadataT()
    subgraph_md.inputTensorMetadata = [image_input]
    subgraph_md.outputTensorMetadata = outputs
    model_md = mfb.ModelMetadataT()
    model_md.name = model_name
    model_md.minParserVersion = "1.0.0"
    model_md.subgraphMetadata = [subgraph_md]

    builder = flatbuffers.Builder(1024)
    builder.Finish(model_md.Pack(builder), _METADATA_FILE_IDENTIFIER)
    return bytes(builder.Output())


def with_image_input_metadata(
    model_bytes: bytes, model_name: str, mean: float, std: float
) -> bytes:
    """Return ``model_bytes`` with image-input metadata (normalisation ``(x - mean) / std``)."""
    import flatbuffers
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(model_bytes, 0))
    metadata = _metadata_buffer(model, model_name, mean, std)
    buffer = tfl.BufferT()
    buffer.data = np.frombuffer(metadata, dtype=np.uint8)
    model.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name = _METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    # An existing entry (the 0.10.21 detector has one, labelled as a face detector)
    # is replaced; its old buffer stays behind unreferenced.
    kept = [m for m in model.metadata or [] if _name(m.name) != _METADATA_NAME]
    model.metadata = [*kept, entry]
    builder = flatbuffers.Builder(len(model_bytes) + len(metadata) + 4096)
    builder.Finish(model.Pack(builder), _MODEL_FILE_IDENTIFIER)
    return bytes(builder.Output())


def bundle_pose_models(detector: bytes, landmarker: bytes, out_path: str) -> None:
    """Write a PoseLandmarker ``.task`` bundle (an uncompressed zip of the two models).

    Entries get a fixed date so that the same inputs give the same bytes.
    """
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_STORED) as bundle:
        for name, data in (
            ("pose_detector.tflite", detector),
            ("pose_landmarks_detector.tflite", landmarker),
        ):
            bundle.writestr(zipfile.ZipInfo(name, date_time=_FIXED_ZIP_DATE), data)
