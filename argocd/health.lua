-- Argo CD health check for frp.io/v1beta1 DistributedService (cdk8s-frp).
-- Install as resource.customizations.health.frp.io_DistributedService in the
-- argocd-cm ConfigMap (README: "Argo CD health check"). Argo CD runs it with the
-- live object as `obj` (gopher-lua, Lua 5.1) and reads hs.status and hs.message.
--
-- It reads what `cdk8s-frp operator` writes through the status subresource:
-- status.state (seed 000: Pending, Provisioning, Running, Updating, Degraded,
-- Failed, Terminating), status.observedGeneration against metadata.generation,
-- and status.conditions (Ready, ConfigurationValid, ConfigurationApplied,
-- CertificatesReady, BackendsAvailable) for the message.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- The message of the first False condition (the reason it is not Ready), else of Ready.
local function explain()
  local order = { "ConfigurationValid", "ConfigurationApplied", "CertificatesReady", "BackendsAvailable", "Ready" }
  for _, t in ipairs(order) do
    local c = condition(t)
    if c ~= nil and c.status == "False" then
      if c.message ~= nil and c.message ~= "" then
        return t .. ": " .. c.message
      end
      if c.reason ~= nil and c.reason ~= "" then
        return t .. ": " .. c.reason
      end
      return t .. " is False"
    end
  end
  local ready = condition("Ready")
  if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
    return ready.message
  end
  return nil
end

local function backends()
  local s = obj.status
  if s.activeBackends ~= nil and s.totalBackends ~= nil then
    return string.format("%d of %d backends active", s.activeBackends, s.totalBackends)
  end
  if s.activeBackends ~= nil then
    return string.format("%d backends active", s.activeBackends)
  end
  return nil
end

local function join(state, detail)
  if detail ~= nil then
    return state .. ": " .. detail
  end
  return state
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil or obj.status.state == nil or obj.status.state == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status (is cdk8s-frp operator running?)"
  return hs
end

local state = obj.status.state
local observed = obj.status.observedGeneration

if state == "Terminating" then
  hs.status = "Progressing"
  hs.message = join("Terminating", explain() or "the operator is removing what it applied")
  return hs
end

if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  if observed == nil then
    hs.message = string.format("Waiting for the operator to observe generation %d (status is %s, of no known generation)", generation, state)
  else
    hs.message = string.format("Waiting for the operator to observe generation %d (status is %s, for generation %d)", generation, state, observed)
  end
  return hs
end

if state == "Running" then
  local ready = condition("Ready")
  if ready ~= nil and ready.status ~= "True" then
    hs.status = "Progressing"
    hs.message = join("Running", explain() or "Ready is " .. tostring(ready.status))
    return hs
  end
  hs.status = "Healthy"
  hs.message = join("Running", backends() or explain())
elseif state == "Pending" or state == "Provisioning" or state == "Updating" then
  hs.status = "Progressing"
  hs.message = join(state, explain() or backends())
elseif state == "Degraded" then
  hs.status = "Degraded"
  hs.message = join("Degraded", explain() or backends())
elseif state == "Failed" then
  hs.status = "Degraded"
  hs.message = join("Failed", explain())
else
  hs.status = "Unknown"
  hs.message = "Unknown state " .. tostring(state)
end
return hs
