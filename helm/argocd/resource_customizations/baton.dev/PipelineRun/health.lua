-- Argo CD health of a Baton PipelineRun, from its phase: Pending and Running are Progressing, Succeeded
-- is Healthy, Failed and Cancelled are Degraded, Suspended is Suspended. The message is the run's
-- MESSAGE column (its Succeeded condition's message).
local hs = {}
local phases = {
  Pending = "Progressing",
  Running = "Progressing",
  Succeeded = "Healthy",
  Failed = "Degraded",
  Cancelled = "Degraded",
  Suspended = "Suspended",
}
if obj.status == nil or obj.status.phase == nil or phases[obj.status.phase] == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the Baton operator to start the run"
  return hs
end
hs.status = phases[obj.status.phase]
hs.message = obj.status.phase
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Succeeded" and type(condition.message) == "string" and condition.message ~= "" then
      hs.message = condition.message
    end
  end
end
return hs
