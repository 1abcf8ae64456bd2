-- Argo CD health of a Baton Pipeline: Healthy once the operator found its spec valid (Ready=True),
-- Degraded while it is invalid (the message says why), Progressing until the operator has looked at
-- the current generation.
local hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  local generation = obj.metadata.generation
  local observed = obj.status.observedGeneration
  if type(generation) == "number" and type(observed) == "number" and observed < generation then
    hs.status = "Progressing"
    hs.message = "the Baton operator has not checked this generation yet"
    return hs
  end
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      if condition.status == "True" then
        hs.status = "Healthy"
      else
        hs.status = "Degraded"
      end
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "waiting for the Baton operator to check the Pipeline"
return hs
