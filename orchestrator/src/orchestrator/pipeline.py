"""The stages of one task, each a function of the request and the checkpoints before it."""

import asyncio
from dataclasses import dataclass

from service_common.contracts import SubtitleTrack, TaskStatus
from service_common.errors import PermanentError

from .clients.media import MediaClient
from .clients.models import ModelClient
from .config import OrchestratorSettings
from .prompts import SUMMARY_SCHEMA, parse_summary, summary_material, text_messages, vision_messages


@dataclass
class StageOutput:
    checkpoint: dict
    result_fields: dict  # columns of the public view that this stage fills


@dataclass
class Pipeline:
    settings: OrchestratorSettings
    media: MediaClient
    models: ModelClient

    async def run_stage(self, stage: TaskStatus, request: dict, checkpoints: dict) -> StageOutput:
        handler = {
            TaskStatus.DOWNLOADING: self.download,
            TaskStatus.EXTRACTING_FRAMES: self.extract_frames,
            TaskStatus.EXTRACTING_TRANSCRIPT: self.extract_transcript,
            TaskStatus.ANALYZING_VISION: self.analyze_vision,
            TaskStatus.ANALYZING_TEXT: self.analyze_text,
        }[stage]
        return await handler(request, checkpoints)

    async def download(self, request: dict, _checkpoints: dict) -> StageOutput:
        result = await self.media.download(request["youtube_url"], request.get("proxy"),
                                           self.settings.download_timeout_s)
        return StageOutput(result.model_dump(), {"video_info": result.video_info.model_dump()})

    async def extract_frames(self, request: dict, checkpoints: dict) -> StageOutput:
        media_id = checkpoints["downloading"]["media_id"]
        result = await self.media.frames(media_id, request["max_frames"], self.settings.frames_timeout_s)
        if not result.frames:
            raise PermanentError("frame extraction failed: no frame could be read from the video")
        return StageOutput({"media_id": media_id, "frames": [f.model_dump() for f in result.frames]}, {})

    async def extract_transcript(self, request: dict, checkpoints: dict) -> StageOutput:
        download = checkpoints["downloading"]
        subtitles = [SubtitleTrack.model_validate(s) for s in download.get("subtitles", [])]
        result = await self.media.transcript(download["media_id"], request["youtube_url"], request.get("proxy"),
                                             subtitles, self.settings.transcript_timeout_s)
        return StageOutput(result.model_dump(), {"transcript": result.text or None})

    async def analyze_vision(self, request: dict, checkpoints: dict) -> StageOutput:
        endpoint = self._endpoint("vision", request["vision_quantization"])
        frames = checkpoints["extracting_frames"]
        media_id = frames["media_id"]

        async def describe(frame: dict) -> str:
            jpeg = await self.media.frame_image(media_id, frame["index"])
            return await self.models.chat(endpoint, vision_messages(jpeg),
                                          f"vision model failed on frame {frame['index']}", max_tokens=300,
                                          temperature=0)

        analyses = await asyncio.gather(*(describe(f) for f in frames["frames"]))
        return StageOutput({"analyses": list(analyses)}, {"frame_analyses": list(analyses)})

    async def analyze_text(self, request: dict, checkpoints: dict) -> StageOutput:
        endpoint = self._endpoint("text", request["text_quantization"])
        material = summary_material(
            checkpoints["downloading"].get("video_info"),
            checkpoints["extracting_transcript"].get("text"),
            checkpoints["extracting_frames"]["frames"],
            checkpoints["analyzing_vision"]["analyses"],
            self.settings.max_transcript_chars,
        )
        content = await self.models.chat(
            endpoint, text_messages(material), "text model failed", max_tokens=1024, temperature=0,
            response_format={"type": "json_schema",
                             "json_schema": {"name": "video_summary", "schema": SUMMARY_SCHEMA}},
        )
        summary, key_points = parse_summary(content)
        if not summary:
            raise PermanentError("text model failed: its answer held no summary")
        return StageOutput({"summary": summary, "key_points": key_points},
                           {"summary": summary, "key_points": key_points})

    def _endpoint(self, role: str, tier: str):
        deployed = self.settings.deployments().get(role, {})
        if tier not in deployed:
            raise PermanentError(f"no {role} model is deployed for tier {tier}")
        return deployed[tier]
